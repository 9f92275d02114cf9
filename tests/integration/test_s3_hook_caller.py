"""S3 clients name their caller without inspecting the stack, through the real provider hook and moto.

The Amazon provider finds the calling operator for its user agent with `inspect.stack()` (about
0.2 s of CPU per client in a task; sparkify.s3_hook). The project's S3 tasks are given the name.
"""

from __future__ import annotations

import inspect

import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

from sparkify.operators import WindowFilesSensor
from sparkify.s3_hook import CallerNamedS3Hook
from tests.support import ensure_bucket

pytestmark = pytest.mark.integration
BUCKET = "sparkify-hook-caller"


@pytest.fixture
def stack_calls(monkeypatch) -> list[int]:
    """Counts inspect.stack() calls (the provider calls the module's function)."""
    calls: list[int] = []
    real = inspect.stack

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(inspect, "stack", counting)
    return calls


def test_the_providers_hook_inspects_the_stack_for_its_caller(stack, s3, stack_calls):
    """The cost this module avoids is real: the plain hook inspects the stack once it makes a client."""
    ensure_bucket(s3, BUCKET)
    S3Hook(aws_conn_id="aws_default").get_conn().head_bucket(Bucket=BUCKET)
    assert stack_calls


def test_a_caller_named_hook_names_its_caller_without_inspecting_the_stack(stack, s3, stack_calls):
    ensure_bucket(s3, BUCKET)
    client = CallerNamedS3Hook(aws_conn_id="aws_default", caller="StageToRedshiftOperator").get_conn()
    client.head_bucket(Bucket=BUCKET)  # a real request, with that user agent
    assert "Caller/StageToRedshiftOperator" in client.meta.config.user_agent_extra
    assert stack_calls == []


def test_the_window_files_sensor_uses_it_with_its_own_name(stack, s3, stack_calls):
    ensure_bucket(s3, BUCKET)
    sensor = WindowFilesSensor(task_id="wait_for_log_data", s3_bucket=BUCKET, s3_key="log_data/x.json")
    assert isinstance(sensor.hook, CallerNamedS3Hook) and sensor.hook.caller == "WindowFilesSensor"
    sensor.hook.get_conn().head_bucket(Bucket=BUCKET)
    assert stack_calls == []


def test_the_object_storage_filesystem_names_itself(stack, s3, stack_calls):
    """The report and the quality page write through ObjectStoragePath, whose s3:// filesystem is ours."""
    from sparkify.boto_s3_filesystem import BotoS3FileSystem

    ensure_bucket(s3, BUCKET)
    fs = BotoS3FileSystem(conn_id="aws_default")
    with fs.open(f"{BUCKET}/pages/x.html", "wb") as page:
        page.write(b"<p>x</p>")
    assert fs.cat_file(f"{BUCKET}/pages/x.html") == b"<p>x</p>"
    assert "Caller/BotoS3FileSystem" in fs.client.meta.config.user_agent_extra
    assert stack_calls == []


def test_the_hooks_sessions_read_s3s_models_once_per_process(stack, s3, monkeypatch):
    """Each boto3 session would read and decode S3's JSON models again; this hook's sessions share one
    loader (through boto3's Session._session: a boto3 upgrade that drops it fails here, not silently)."""
    import botocore.loaders

    ensure_bucket(s3, BUCKET)
    CallerNamedS3Hook(aws_conn_id="aws_default", caller="First").get_conn().head_bucket(Bucket=BUCKET)
    reads: list[str] = []
    real_load = botocore.loaders.JSONFileLoader.load_file
    monkeypatch.setattr(
        botocore.loaders.JSONFileLoader, "load_file", lambda self, path: reads.append(path) or real_load(self, path)
    )
    client = CallerNamedS3Hook(aws_conn_id="aws_default", caller="Second").get_conn()
    client.head_bucket(Bucket=BUCKET)  # a working client, with its own session and credentials
    assert reads == []
    assert client.meta.config.user_agent_extra.count("Caller/Second") == 1
    S3Hook(aws_conn_id="aws_default").get_conn()  # the provider's own hook: a loader of its own
    assert any(path.endswith("service-2") for path in reads)
