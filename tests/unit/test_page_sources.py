"""The pages' links without services: which XCom values name a page (sparkify.pages.sources), and the link's URL
(sparkify.pages.urls), which names the run and nothing secret. tests/integration/test_page_links.py opens them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from airflow.sdk.types import TaskInstanceKey

from sparkify.pages.sources import PAGES, QUALITY, REPORT, S3Object, s3_object
from sparkify.pages.urls import page_url
from sparkify.quality_page import quality_page_name

RUN_ID = "manual__2018-11-15T07:00:00+00:00"
REPORT_KEY = "reports/sparkify_report_20181115T070000000001Z.html"
QUALITY_KEY = f"reports/quality/{quality_page_name(RUN_ID)}"


@pytest.mark.parametrize(
    ("uri", "found"),
    [
        ("s3://aws_default@bucket/a/b.html", S3Object("bucket", "a/b.html", "aws_default")),
        ("s3a://bucket/b.html", S3Object("bucket", "b.html", None)),
        ("s3://bucket/", None),
        ("file:///tmp/reports/sparkify_report_x.html", None),
        ("https://bucket.s3.amazonaws.com/b.html", None),
        (None, None),
        (42, None),
    ],
)
def test_an_s3_uri_names_its_bucket_key_and_connection(uri, found):
    assert s3_object(uri) == found


def test_the_report_is_the_path_refresh_report_returned():
    returned = {"path": f"s3://aws_default@bucket/{REPORT_KEY}", "rows": {"top_songs": 3}}
    assert REPORT.page_object(returned, RUN_ID) == S3Object("bucket", REPORT_KEY, "aws_default")
    assert REPORT.xcom_key == "return_value"


def test_the_quality_page_is_the_runs_page_under_the_quality_folder():
    assert QUALITY.page_object(f"s3://aws_default@bucket/{QUALITY_KEY}", RUN_ID) == S3Object(
        "bucket", QUALITY_KEY, "aws_default"
    )
    assert QUALITY.xcom_key == "quality_results"


@pytest.mark.parametrize(
    ("page", "pushed"),
    [
        (REPORT, None),  # the task wrote nothing (yet)
        (REPORT, {"rows": {}}),
        (REPORT, {"path": "file:///tmp/reports/sparkify_report_20181115T070000000001Z.html"}),  # not in S3
        (REPORT, {"path": "s3://bucket/reports/credentials.csv"}),  # an object that is no report
        (REPORT, {"path": f"s3://bucket/{QUALITY_KEY}"}),
        (QUALITY, None),
        (QUALITY, f"s3://bucket/reports/quality/{quality_page_name('another run')}"),  # another run's page
        (QUALITY, f"s3://bucket/reports/{quality_page_name(RUN_ID)}"),  # outside the quality folder
        (QUALITY, f"s3://bucket/{REPORT_KEY}"),
    ],
)
def test_anything_else_is_no_page(page, pushed):
    assert page.page_object(pushed, RUN_ID) is None


def test_the_link_names_the_dag_run_and_task_under_the_api_servers_base_url(monkeypatch):
    monkeypatch.setenv("AIRFLOW__API__BASE_URL", "https://airflow.example.com/prod/")
    key = TaskInstanceKey(dag_id="sparkify_etl", task_id="run_quality_checks", run_id=RUN_ID, try_number=1)

    url = page_url(QUALITY.name, key)

    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "airflow.example.com", "/prod/sparkify/pages/quality")
    assert parse_qs(parts.query, strict_parsing=True) == {
        "dag_id": ["sparkify_etl"],
        "run_id": [RUN_ID],  # its "+" and ":" encoded
        "task_id": ["run_quality_checks"],
    }
    assert "%2B00%3A00" in parts.query
    mapped = page_url(REPORT.name, TaskInstanceKey("d", "t", "r", try_number=1, map_index=3))
    assert mapped.endswith("/prod/sparkify/pages/report?dag_id=d&run_id=r&task_id=t&map_index=3")
    assert set(PAGES) == {"report", "quality"}
