"""The pinned Celery and the pinned Celery provider work together, with no patches (docs/distributed-workers.md).

Celery 5.7 broke both points below, which is why requirements.in bounds `celery<5.7`.
"""

from __future__ import annotations

import subprocess
import sys


def test_the_provider_executor_imports_with_the_pinned_celery():
    """Celery 5.7 dropped `celery.backends.database.retry`, which the provider imports."""
    done = subprocess.run(
        [sys.executable, "-c", "from airflow.providers.celery.executors.celery_executor import CeleryExecutor"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr


def test_the_scheduler_reads_a_failed_celery_task_from_the_database_backend(tmp_path):
    """The provider's bulk state fetch (the scheduler's) on Celery's database backend, SQLite here.

    On Celery 5.7 a failed task's stored result reached `meta_from_decoded` undecoded: TypeError.
    """
    from airflow.providers.celery.executors.celery_executor_utils import BulkStateFetcher
    from celery import Celery
    from celery.result import AsyncResult

    app = Celery(broker="memory://", backend=f"db+sqlite:///{tmp_path / 'results.db'}")
    app.backend.mark_as_done("ok-task", None)
    app.backend.mark_as_failure("failed-task", TimeoutError("timed out"))
    fetcher = BulkStateFetcher(1, celery_app=app)
    states = fetcher._get_many_from_db_backend([AsyncResult(i, app=app) for i in ("ok-task", "failed-task")])
    assert {task_id: state for task_id, (state, _) in states.items()} == {
        "ok-task": "SUCCESS",
        "failed-task": "FAILURE",
    }
