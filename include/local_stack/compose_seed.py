"""`python -m local_stack.compose_seed`: fill an S3 bucket with generated sample data, once.

The `seed-s3` job of docker-compose.yaml runs this against MinIO. The endpoint, keys,
region and client settings come from the Airflow connection the DAG uses
(`AIRFLOW_CONN_AWS_DEFAULT`), so the job writes exactly where the DAG will read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import boto3
from botocore.config import Config

from local_stack.s3_server import upload_folder
from local_stack.sample_data import SampleSpec, generate
from local_stack.settings import AWS_CONN_VAR


def client_from_connection(connection: dict):
    """A boto3 S3 client configured as the Airflow AWS connection `connection` describes."""
    extra = connection.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra)
    return boto3.client(
        "s3",
        endpoint_url=extra.get("endpoint_url"),
        region_name=extra.get("region_name"),
        aws_access_key_id=connection.get("login"),
        aws_secret_access_key=connection.get("password"),
        config=Config(**(extra.get("config_kwargs") or {})),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.compose_seed", description=__doc__)
    parser.add_argument("--bucket", default=os.environ.get("AIRFLOW_VAR_SPARKIFY_S3_BUCKET", "udacity-dend"))
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--songs", type=int, default=120)
    parser.add_argument("--users", type=int, default=30)
    args = parser.parse_args(argv)

    connection = json.loads(os.environ[AWS_CONN_VAR])
    region = (connection.get("extra") or {}).get("region_name") or "us-west-2"
    with tempfile.TemporaryDirectory(prefix="sparkify-sample-") as folder:
        root = Path(folder)
        summary = generate(root, SampleSpec(seed=args.seed, songs=args.songs, users=args.users))
        count = upload_folder(client_from_connection(connection), args.bucket, root, region)
    print(f"Seeded s3://{args.bucket} with {count} files ({summary.songs} songs, {summary.events} events).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
