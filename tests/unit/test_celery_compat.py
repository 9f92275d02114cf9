"""The Celery compatibility shim (include/local_stack/celery_compat.py) is needed, and it works."""

from __future__ import annotations

import subprocess
import sys

import pytest
from sqlalchemy.exc import OperationalError


def test_the_pinned_celery_lacks_what_the_pinned_provider_imports():
    """When this fails, the pins agree again: delete celery_compat.py and name CeleryExecutor directly."""
    probe = "import celery.backends.database as d; print(hasattr(d, 'retry'))"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "False\n"
    provider = subprocess.run(
        [sys.executable, "-c", "import airflow.providers.celery.executors.celery_executor"],
        capture_output=True,
        text=True,
    )
    assert provider.returncode != 0 and "cannot import name 'retry'" in provider.stderr


def test_the_executor_imports_through_the_shim():
    from local_stack import celery_compat

    assert celery_compat.NEEDED
    assert celery_compat.CeleryExecutor.__module__ == "airflow.providers.celery.executors.celery_executor"
    import airflow.providers.celery.executors.celery_executor_utils as utils

    assert utils.retry is celery_compat.retry


def test_retry_tries_three_times_on_a_database_error_then_raises():
    from local_stack.celery_compat import retry

    calls = []

    @retry
    def flaky(succeed_on: int) -> str:
        calls.append(1)
        if len(calls) < succeed_on:
            raise OperationalError("SELECT 1", {}, Exception("connection lost"))
        return "ok"

    assert flaky(3) == "ok" and len(calls) == 3
    calls.clear()
    with pytest.raises(OperationalError):
        flaky(4)
    assert len(calls) == 3


def test_the_state_of_a_failed_celery_task_is_read_without_crashing_the_scheduler(tmp_path):
    """The provider's bulk state fetch on Celery 5.7's database backend (SQLite here), a failure among successes."""
    from airflow.providers.celery.executors.celery_executor_utils import BulkStateFetcher
    from celery import Celery
    from celery.result import AsyncResult

    from local_stack import celery_compat

    assert celery_compat.DECODES_STORED_RESULTS
    app = Celery(broker="memory://", backend=f"db+sqlite:///{tmp_path / 'results.db'}")
    app.backend.mark_as_done("ok-task", None)
    app.backend.mark_as_failure("failed-task", TimeoutError("timed out"))
    fetcher = BulkStateFetcher(1, celery_app=app)
    states = fetcher._get_many_from_db_backend([AsyncResult(i, app=app) for i in ("ok-task", "failed-task")])
    assert {task_id: state for task_id, (state, _) in states.items()} == {
        "ok-task": "SUCCESS",
        "failed-task": "FAILURE",
    }
