"""moto's S3 server as a separate process, standing in for Amazon S3."""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
from botocore.config import Config

from local_stack.processes import StackError, port_is_open, read_pid, spawn, terminate, wait_until
from local_stack.settings import StackSettings


class S3Server:
    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.home = settings.state_dir / "s3"
        self.pid_file = self.home / "moto.pid"
        self.log_file = self.home / "moto.log"

    def start(self) -> bool:
        """Start the server; returns False when it was already running."""
        s = self.settings
        if self.is_running():
            return False
        if port_is_open(s.s3_host, s.s3_port):
            raise StackError(
                f"Port {s.s3_port} is already in use by another process, so the local S3 cannot "
                f"start. Stop that process or choose another port with SPARKIFY_S3_PORT=<port>."
            )
        self.home.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "moto.server", "-H", s.s3_host, "-p", str(s.s3_port)]
        spawn(command, self.pid_file, self.log_file)
        wait_until(lambda: port_is_open(s.s3_host, s.s3_port), 30, "The local S3 (moto)", self.log_file)
        return True

    def stop(self) -> bool:
        return terminate(self.pid_file)

    def is_running(self) -> bool:
        return read_pid(self.pid_file) is not None

    def ensure_bucket(self, bucket: str, region: str) -> None:
        """Create `bucket` unless it exists (moto keeps buckets in memory, so after every start)."""
        ensure_bucket(self.client(), bucket, region)

    def client(self):
        aws = self.settings.aws_conn
        return boto3.client(
            "s3",
            endpoint_url=self.settings.s3_endpoint,
            region_name=aws["extra"].get("region_name", "us-west-2"),
            aws_access_key_id=aws["login"],
            aws_secret_access_key=aws["password"],
            config=Config(retries={"max_attempts": 2}),
        )


LAYOUT = ("log_data/", "song_data/")  # a folder in the bucket layout has JSON files under these
MAX_KEY_BYTES = 1024  # S3's limit on a key


def check_folder(folder: Path) -> list[tuple[Path, str]]:
    """Every file under `folder` with its S3 key, after checking all of them; StackError lists what is wrong.

    Checked before the bucket is touched: the folder is in the bucket layout, holds only regular
    files and folders (no symlinks, which could upload files from elsewhere), every file can be
    read to its end, and every key is UTF-8 of at most 1024 bytes.
    """
    if folder.is_symlink() or not folder.is_dir():
        raise StackError(f"{folder} is not a folder in the bucket layout (log_data/, song_data/, ...).")
    files, problems = [], []
    for path in sorted(folder.rglob("*")):
        relative = path.relative_to(folder).as_posix()
        if path.is_symlink():
            problems.append(f"{relative}: a symlink (copy the file itself into the folder)")
        elif path.is_dir():
            continue
        elif not path.is_file():
            problems.append(f"{relative}: not a regular file")
        else:
            try:
                key_bytes = len(relative.encode("utf-8"))
            except UnicodeEncodeError:
                problems.append(f"{relative!r}: the name is not UTF-8, so it cannot be an S3 key")
                continue
            if key_bytes > MAX_KEY_BYTES:
                problems.append(f"{relative[:60]}...: the key is longer than {MAX_KEY_BYTES} bytes")
                continue
            try:
                with path.open("rb") as file:
                    while file.read(1 << 20):
                        pass
            except OSError as error:
                problems.append(f"{relative}: cannot be read ({error.strerror or error})")
                continue
            files.append((path, relative))
    if not any(key.startswith(LAYOUT) and key.endswith(".json") for _, key in files):
        problems.append(f"no .json file under {' or '.join(LAYOUT)}: this is not a folder in the bucket layout")
    if problems:
        shown = "\n  ".join(problems[:20]) + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else "")
        raise StackError(f"{folder} cannot be seeded; the bucket was not touched:\n  {shown}")
    return files


def manifest_bucket() -> str:
    """The bucket the stage tasks write COPY manifests to (Variable sparkify_manifest_location)."""
    from sparkify.config import DEFAULTS

    location = os.environ.get("AIRFLOW_VAR_SPARKIFY_MANIFEST_LOCATION", DEFAULTS["sparkify_manifest_location"])
    return location.removeprefix("s3://").partition("/")[0]


def ensure_bucket(client, bucket: str, region: str) -> None:
    """Create `bucket` unless it exists."""
    if bucket not in {b["Name"] for b in client.list_buckets().get("Buckets", [])}:
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})


def upload_folder(client, bucket: str, folder: Path, region: str) -> int:
    """Replace the bucket's contents with the files under `folder`, keyed by relative path.

    The whole folder is checked first (check_folder): a bad folder leaves the bucket as it was.
    """
    files = check_folder(folder)
    existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
    if bucket not in existing:
        client.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region})
    paginator = client.get_paginator("list_objects_v2")
    for page in paginator.paginate(Bucket=bucket):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            client.delete_objects(Bucket=bucket, Delete={"Objects": keys})

    def put(item: tuple[Path, str]) -> None:
        client.upload_file(str(item[0]), bucket, item[1])

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(put, files))
    return len(files)
