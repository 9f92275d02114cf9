"""An fsspec filesystem for `s3://` over the Amazon provider's boto3 client, for ObjectStoragePath.

Airflow's ObjectStoragePath reaches S3 through fsspec. The Amazon provider registers `s3fs` for
that, but only when the optional `s3fs` package (extra `apache-airflow-providers-amazon[s3fs]`,
which pulls in aiobotocore) is installed; this project pins boto3 alone. `attach_s3(conn_id)`
therefore keeps the provider's s3fs filesystem when it is importable and otherwise attaches this
one, built on the provider's S3Hook (`sparkify.s3_hook.CallerNamedS3Hook`, which names
this class as the caller instead of inspecting the stack): the same connection, endpoint and
credentials as every other S3 call of the DAGs. It does what a report needs and no more: list,
stat, read (ranged GETs), write (one PUT on close, so a reader never sees half an object) and
delete. Folders are key prefixes, so `mkdir` has nothing to do.
"""

from __future__ import annotations

import importlib.util
from typing import Any

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem


def attach_s3(conn_id: str | None) -> None:
    """Make `s3://` ObjectStoragePaths of `conn_id` work, with s3fs when installed, else with boto3."""
    if importlib.util.find_spec("s3fs") is None:
        from airflow.sdk.io import attach

        attach("s3", conn_id, fs=BotoS3FileSystem(conn_id=conn_id))


class BotoS3FileSystem(AbstractFileSystem):
    """`s3://bucket/key` through the boto3 client of an Airflow AWS connection.

    :param conn_id: the Airflow AWS connection (its extra `endpoint_url` and `region_name` apply)
    """

    protocol = ("s3", "s3a")
    root_marker = ""
    cachable = False  # one instance per connection, kept by Airflow's attach()

    def __init__(self, *, conn_id: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id
        self._client: Any = None

    @property
    def client(self) -> Any:
        if self._client is None:
            from sparkify.s3_hook import CallerNamedS3Hook

            self._client = CallerNamedS3Hook(aws_conn_id=self.conn_id, caller=type(self).__name__).get_conn()
        return self._client

    @staticmethod
    def split_path(path: str) -> tuple[str, str]:
        bucket, _, key = BotoS3FileSystem._strip_protocol(path).partition("/")
        return bucket, key

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list:
        bucket, key = self.split_path(path)
        prefix = f"{key.rstrip('/')}/" if key else ""
        entries: list[dict] = []
        for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
            entries += [
                {"name": f"{bucket}/{common['Prefix'].rstrip('/')}", "size": 0, "type": "directory"}
                for common in page.get("CommonPrefixes", [])
            ]
            entries += [
                self._file_entry(bucket, item["Key"], item["Size"], item["LastModified"])
                for item in page.get("Contents", [])
                if item["Key"] != prefix
            ]
        if not entries and key:
            entries = [self.info(path)]  # a file lists as itself; a missing path raises FileNotFoundError
        return entries if detail else [entry["name"] for entry in entries]

    def info(self, path: str, **kwargs: Any) -> dict:
        bucket, key = self.split_path(path)
        if not key:
            return {"name": bucket, "size": 0, "type": "directory"}
        from botocore.exceptions import ClientError

        try:
            head = self.client.head_object(Bucket=bucket, Key=key)
            return self._file_entry(bucket, key, head["ContentLength"], head["LastModified"])
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchKey", "NotFound"):
                raise
        listed = self.client.list_objects_v2(Bucket=bucket, Prefix=f"{key.rstrip('/')}/", MaxKeys=1)
        if listed.get("KeyCount", 0):
            return {"name": f"{bucket}/{key.rstrip('/')}", "size": 0, "type": "directory"}
        raise FileNotFoundError(path)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """S3 has no folders: a key's prefix exists once an object is written under it."""

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        """S3 has no folders."""

    def rm_file(self, path: str) -> None:
        bucket, key = self.split_path(path)
        self.client.delete_object(Bucket=bucket, Key=key)

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: Any = None,
        autocommit: bool = True,
        cache_options: dict | None = None,
        **kwargs: Any,
    ) -> BotoS3File:
        return BotoS3File(
            self,
            path,
            mode,
            block_size=block_size or "default",
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    @staticmethod
    def _file_entry(bucket: str, key: str, size: int, modified: Any) -> dict:
        return {"name": f"{bucket}/{key}", "size": size, "type": "file", "LastModified": modified}


class BotoS3File(AbstractBufferedFile):
    """Reads with ranged GETs; writes buffer everything and PUT it once, on close."""

    fs: BotoS3FileSystem

    def _fetch_range(self, start: int, end: int) -> bytes:
        if start >= end:
            return b""
        bucket, key = self.fs.split_path(self.path)
        return self.fs.client.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")["Body"].read()

    def _initiate_upload(self) -> None:
        """One PUT on close: nothing to start."""

    def _upload_chunk(self, final: bool = False) -> bool:
        if not final:
            return False  # keep buffering: the object is written whole, or not at all
        bucket, key = self.fs.split_path(self.path)
        self.fs.client.put_object(Bucket=bucket, Key=key, Body=self.buffer.getvalue())
        return True
