"""Where `sparkify_report` keeps its pages: an ObjectStoragePath, shared by every worker.

The location is the Variable `sparkify_report_location` (default
`s3://sparkify-staging/reports/`). A location may name its AWS connection itself
(`s3://my_conn@bucket/prefix/`); otherwise the connection `sparkify_aws_conn_id` is used.
Each refresh writes a new object, `sparkify_report_<UTC time>.html`, in one PUT, so a
reader never sees half a page and the latest is the greatest name.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import ObjectStoragePath

REPORT_NAME = re.compile(r"^sparkify_report_\d{8}T\d{6}\d{6}Z\.html$")


def report_location(location: str, aws_conn_id: str) -> ObjectStoragePath:
    """The report folder as an ObjectStoragePath; its connection from the URL, else `aws_conn_id`."""
    from airflow.sdk import ObjectStoragePath

    from sparkify.boto_s3_filesystem import attach_s3

    if not location.strip():
        raise ValueError("The report location (Variable sparkify_report_location) is empty.")
    parsed = ObjectStoragePath(location)  # only parsed here: the URL's scheme and connection
    if parsed.protocol not in ("s3", "s3a"):
        return parsed  # e.g. file:// or gs://: the filesystem Airflow registers for it
    conn_id = parsed.conn_id or aws_conn_id
    attach_s3(conn_id)  # before the path is built: ObjectStoragePath binds its filesystem then
    return ObjectStoragePath(location, conn_id=conn_id)


def report_name(generated_at: datetime) -> str:
    """The object name of a page generated at `generated_at` (UTC): names sort by time."""
    return f"sparkify_report_{generated_at:%Y%m%dT%H%M%S%f}Z.html"


def publish_report(folder: ObjectStoragePath, page: str, generated_at: datetime) -> ObjectStoragePath:
    """Write `page` as a new object in `folder`; returns its path."""
    return write_page(folder, report_name(generated_at), page)


def write_page(folder: ObjectStoragePath, name: str, page: str) -> ObjectStoragePath:
    """Write the HTML `page` as `folder/name` in one PUT (replacing it); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)  # a real folder for file://, nothing on S3
    path = folder / name
    with path.open("wb") as out:
        out.write(page.encode("utf-8"))
    return path


def latest_report(folder: ObjectStoragePath) -> ObjectStoragePath | None:
    """The newest page in `folder`, or None when there is none."""
    try:
        pages = [path for path in folder.iterdir() if REPORT_NAME.match(path.name)]
    except (FileNotFoundError, NotADirectoryError):  # nothing published under that prefix yet
        return None
    return max(pages, key=lambda path: path.name, default=None)
