"""A short-lived presigned GET URL of a page's S3 object, made by the API server when a user opens a link.

It carries the signature and the access key id of the connection (a session token too, for
temporary credentials), so it is only ever sent to the browser that asked, never stored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sparkify.config import DEFAULTS

if TYPE_CHECKING:
    from sparkify.pages.sources import S3Object

PRESIGNED_SECONDS = 600
DEFAULT_AWS_CONN_ID = DEFAULTS["sparkify_aws_conn_id"]  # for a URI that names no connection


def presigned_get(page: S3Object, expires_in: int = PRESIGNED_SECONDS) -> str:
    """A URL that GETs `page` as `text/html` for `expires_in` seconds, signed with the URI's AWS connection."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from botocore.config import Config

    hook = S3Hook(aws_conn_id=page.conn_id or DEFAULT_AWS_CONN_ID, config=Config(signature_version="s3v4"))
    return hook.get_conn().generate_presigned_url(
        "get_object",
        Params={"Bucket": page.bucket, "Key": page.key, "ResponseContentType": "text/html; charset=utf-8"},
        ExpiresIn=expires_in,
    )
