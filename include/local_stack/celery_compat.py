"""CeleryExecutor for the pinned Celery: the provider's executor, after one compatibility shim.

apache-airflow-providers-celery 3.26.0 imports `retry` from `celery.backends.database`
(celery_executor_utils.py), a decorator Celery 5.7.0 no longer has: its DatabaseBackend retries
through the backend's own `result_backend_always_retry` machinery now. With both pinned,
`airflow celery worker` and a scheduler with `executor = CeleryExecutor` fail with
`ImportError: cannot import name 'retry'`. This module puts Celery 5.6's decorator back (the same
behaviour: up to three tries on a database error) before it imports the provider's executor.

Second mismatch: Celery 5.7's DatabaseBackend stores a task's result serialized and decodes it in
`_decode_stored_result` before `meta_from_decoded`; the provider's BulkStateFetcher still passes
the raw row to `meta_from_decoded`, which, for the first Celery task that fails (a worker that
cannot reach the api-server, say), raises TypeError in the scheduler's loop and stops the
scheduler. `_get_many_from_db_backend` below decodes first, as Celery's own backend does. And
the local stack names this module's class as the executor:
`[core] executor = local_stack.celery_compat.CeleryExecutor`. Airflow imports the executor in
every process that needs it (scheduler, workers, CLI) before the provider's Celery modules, so
the shim is in place everywhere. `tests/unit/test_celery_compat.py` fails once the pins no
longer need it, so that it is deleted then.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

import celery.backends.database as celery_database

log = logging.getLogger(__name__)
NEEDED = not hasattr(celery_database, "retry")


def retry(fun: Callable[..., Any]) -> Callable[..., Any]:
    """Celery 5.6's `celery.backends.database.retry`: call `fun` up to `max_retries` (3) times on a database error."""
    from sqlalchemy.exc import DatabaseError, InvalidRequestError
    from sqlalchemy.orm.exc import StaleDataError

    @wraps(fun)
    def _inner(*args: Any, **kwargs: Any) -> Any:
        max_retries = kwargs.pop("max_retries", 3)
        for tries_left in range(max_retries - 1, -1, -1):
            try:
                return fun(*args, **kwargs)
            except (DatabaseError, InvalidRequestError, StaleDataError):
                log.warning("Failed operation %s. Retrying %s more times.", fun.__name__, tries_left, exc_info=True)
                if not tries_left:
                    raise
        return None

    return _inner


if NEEDED:
    celery_database.retry = retry

from airflow.providers.celery.executors import celery_executor_utils  # noqa: E402
from airflow.providers.celery.executors.celery_executor import CeleryExecutor  # noqa: E402

DECODES_STORED_RESULTS = hasattr(celery_database.DatabaseBackend, "_decode_stored_result")


def _get_many_from_db_backend(self: Any, async_tasks: Any) -> Any:
    """The provider's BulkStateFetcher._get_many_from_db_backend, decoding each stored result first."""
    task_ids = self._tasks_list_to_task_ids(async_tasks)
    backend = self.celery_app.backend
    task_results = []
    for task in self._query_task_cls_from_db_backend(task_ids):
        data = task.to_dict()
        data["result"] = backend._decode_stored_result(data["result"])
        task_results.append(backend.meta_from_decoded(data))
    return self._prepare_state_and_info_by_task_dict(task_ids, {r["task_id"]: r for r in task_results})


if NEEDED and DECODES_STORED_RESULTS:
    celery_executor_utils.BulkStateFetcher._get_many_from_db_backend = _get_many_from_db_backend  # type: ignore[method-assign]  # the patch itself

__all__ = ["CeleryExecutor"]
