"""The URL of a task's page on Airflow's API server: `{[api] base_url}/sparkify/pages/<page>?dag_id=…`.

It names the DAG, the run and the task, nothing secret; sparkify.pages.app answers it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from airflow.sdk.types import TaskInstanceKey

URL_PREFIX = "/sparkify"  # where the plugin mounts its app on the API server
DEFAULT_BASE_URL = "http://localhost:8080/"  # Airflow's own fallback for [api] base_url


def page_url(page: str, ti_key: TaskInstanceKey) -> str:
    """The link to the page `page` (sparkify.pages.sources.PAGES) of the task instance `ti_key`."""
    from airflow.sdk.configuration import conf

    base = conf.get("api", "base_url", fallback=DEFAULT_BASE_URL).rstrip("/")
    query = {"dag_id": ti_key.dag_id, "run_id": ti_key.run_id, "task_id": ti_key.task_id}
    if ti_key.map_index >= 0:
        query["map_index"] = str(ti_key.map_index)
    return f"{base}{URL_PREFIX}/pages/{page}?{urlencode(query)}"
