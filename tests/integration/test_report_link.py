"""The "Report" extra link of sparkify_report: a browser URL of the page, made from the task's XCom.

Every URL is fetched over HTTP from the session's real moto S3, as a browser would.
"""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from sparkify.config import PROJECT_BUCKET
from sparkify.report.link import link_for

pytestmark = pytest.mark.integration


@pytest.fixture
def page(s3) -> tuple[str, bytes]:
    key = f"link-test-{uuid.uuid4().hex[:8]}/sparkify_report_20260102T030405000006Z.html"
    body = "<html><body><h1>Songplays ü</h1></body></html>".encode()
    s3.put_object(Bucket=PROJECT_BUCKET, Key=key, Body=body)  # no content type: as publish_report writes it
    return key, body


def test_the_link_of_the_xcom_opens_the_page_in_a_browser(page, settings):
    key, body = page
    url = link_for({"path": f"s3://aws_default@{PROJECT_BUCKET}/{key}", "rows": {"x": 1}}, "unused_conn")

    parts = urlsplit(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("http", "127.0.0.1", settings.s3_port)
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.content == body
    assert response.headers["content-type"].startswith("text/html")


def test_the_link_expires_and_holds_no_secret(page, settings):
    key, _ = page
    url = link_for({"path": f"s3://{PROJECT_BUCKET}/{key}"}, "aws_default")  # connection from the DAG
    query = {name.lower(): values for name, values in parse_qs(urlsplit(url).query).items()}
    assert query["x-amz-expires"] == [str(24 * 3600)]  # Signature Version 4, valid one day
    assert query["x-amz-credential"][0].startswith(settings.aws_conn["login"] + "/")  # the key id, not the secret
    assert settings.aws_conn["password"] not in url
    assert httpx.get(url, timeout=10).status_code == 200


def test_no_page_no_link():
    assert link_for(None, "aws_default") == ""
    assert link_for({"rows": {}}, "aws_default") == ""
    assert link_for({"path": "file:///tmp/reports/sparkify_report_x.html"}, "aws_default") == ""
