"""`python -m local_stack.compose_seed`: fill an S3 bucket with generated sample data, once.

A bucket that already holds objects is left as it is (a user may have loaded real data
into it), unless `--force` is given, which replaces its contents.

The `seed-s3` job of docker-compose.yaml runs this against MinIO. The endpoint, keys,
region and client settings come from the Airflow connection the DAG uses
(`aws_default`, from `AIRFLOW_CONN_AWS_DEFAULT`), read through the Amazon provider's S3Hook
as the DAG's tasks read it, so the job writes exactly where the DAG will read.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from local_stack.s3_server import ensure_bucket, manifest_bucket, upload_folder
from local_stack.sample_data import SampleSpec, generate

AWS_CONN_ID = "aws_default"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.compose_seed", description=__doc__)
    parser.add_argument("--bucket", default=os.environ.get("AIRFLOW_VAR_SPARKIFY_S3_BUCKET", "udacity-dend"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--songs", type=int, default=120)
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--force", action="store_true", help="replace the contents of a bucket that has objects")
    args = parser.parse_args(argv)

    # The hook the DAG's tasks use, on the same connection: the job writes where they read.
    hook = S3Hook(aws_conn_id=AWS_CONN_ID)
    region = hook.conn_region_name or "us-west-2"
    client = hook.get_conn()
    ensure_bucket(client, manifest_bucket(), region)  # where the stage tasks write their COPY manifests
    if not args.force and _has_objects(client, args.bucket):
        print(f"s3://{args.bucket} already holds objects: left as it is (--force replaces them).")
        return 0
    with tempfile.TemporaryDirectory(prefix="sparkify-sample-") as folder:
        root = Path(folder)
        summary = generate(root, SampleSpec(seed=args.seed, songs=args.songs, users=args.users))
        count = upload_folder(client, args.bucket, root, region)
    print(f"Seeded s3://{args.bucket} with {count} files ({summary.songs} songs, {summary.events} events).")
    return 0


def _has_objects(client, bucket: str) -> bool:
    try:
        return client.list_objects_v2(Bucket=bucket, MaxKeys=1).get("KeyCount", 0) > 0
    except client.exceptions.NoSuchBucket:
        return False


if __name__ == "__main__":
    sys.exit(main())
