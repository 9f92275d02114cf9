"""The seeding job of docker-compose.yaml, run for real against the local S3 with compose-style settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml

from local_stack.settings import AWS_CONN_VAR, PROJECT_ROOT

pytestmark = pytest.mark.integration
BUCKET = "compose-seed-check"


def test_the_seed_job_fills_the_bucket_through_the_compose_connection(stack, s3):
    compose = yaml.safe_load((PROJECT_ROOT / "docker-compose.yaml").read_text())
    job = compose["services"]["seed-s3"]
    connection = json.loads(job["environment"][AWS_CONN_VAR])
    # The compose connection, with the endpoint moved from MinIO to this session's S3.
    connection["extra"]["endpoint_url"] = stack.s3_endpoint
    manifests = "compose-seed-manifests"  # the job creates the stage tasks' manifest bucket too
    env = {
        **os.environ,
        AWS_CONN_VAR: json.dumps(connection),
        "AIRFLOW_VAR_SPARKIFY_MANIFEST_LOCATION": f"s3://{manifests}/manifests/",
        "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "include"), str(PROJECT_ROOT / "plugins")]),
    }
    command = [sys.executable, *job["command"][1:], "--bucket", BUCKET, "--songs", "10", "--users", "5"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert result.returncode == 0, result.stderr[-3000:]

    keys = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    ]
    assert "log_json_path.json" in keys
    assert any(k.startswith("song_data/") for k in keys) and any(k.endswith("-events.json") for k in keys)
    assert f"Seeded s3://{BUCKET} with {len(keys)} files" in result.stdout
    assert manifests in {b["Name"] for b in s3.list_buckets()["Buckets"]}

    # Started again (every `docker compose up`), with the extra as a JSON string: the bucket stays as it is.
    s3.put_object(Bucket=BUCKET, Key="log_data/user-loaded.json", Body=b"{}")
    connection["extra"] = json.dumps(connection["extra"])
    env[AWS_CONN_VAR] = json.dumps(connection)
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "already holds objects: left as it is" in again.stdout
    assert s3.get_object(Bucket=BUCKET, Key="log_data/user-loaded.json")["Body"].read() == b"{}"

    forced = subprocess.run(
        [*command, "--force"], env=env, capture_output=True, text=True, timeout=300, cwd=PROJECT_ROOT
    )
    assert forced.returncode == 0, forced.stderr[-3000:]
    after = [
        o["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)
        for o in page.get("Contents", [])
    ]
    assert sorted(after) == sorted(keys), "--force replaces the contents with the sample data"
