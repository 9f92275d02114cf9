"""The note of the running task's DAG run, which the grid and the run list show.

Airflow 3.3's Task SDK can read a run's note (`context["dag_run"].note`) but not write it, and its
Execution API has no endpoint for it (apache/airflow#64890 asks for one). So the note is written
through Airflow's public REST API, `PATCH /api/v2/dags/{dag_id}/dagRuns/{run_id}?update_mask=note`,
as the user of the HTTP connection `airflow_api` (host: the API server's base URL; login and
password: a user allowed to edit DAG runs; the token comes from `POST /auth/token`). The local stack
defines that connection; a deployment without it runs the same, without notes.

A note is a label: failing to write one logs a warning and never fails the task.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

AIRFLOW_API_CONN_ID = "airflow_api"
MAX_NOTE_LENGTH = 1000  # Airflow's dag_run_note.content column

log = logging.getLogger(__name__)


def set_run_note(context: Any, note: str, conn_id: str = AIRFLOW_API_CONN_ID, timeout: float = 10) -> bool:
    """Set the running task's DAG run note to `note`; True when Airflow accepted it."""
    from airflow.sdk import BaseHook

    try:
        connection = BaseHook.get_connection(conn_id)
    except Exception:  # AirflowNotFoundException, or the secrets backend is unreachable
        log.info("Run note not set (no Airflow connection %r): %s", conn_id, note)
        return False
    dag_run = context["dag_run"]
    base_url = _base_url(connection)
    try:
        return _patch_note(
            base_url, connection.login or "", connection.password or "", dag_run.dag_id, dag_run.run_id, note, timeout
        )
    except Exception as error:  # a label must never fail the run
        log.warning("Run note not set (%s %s): %s", type(error).__name__, _first_line(error), note)
        return False


def _base_url(connection: Any) -> str:
    host = (connection.host or "").rstrip("/")
    if "://" not in host:
        scheme = connection.schema or "http"
        host = f"{scheme}://{host}" + (f":{connection.port}" if connection.port else "")
    return host


def _patch_note(base_url: str, login: str, password: str, dag_id: str, run_id: str, note: str, timeout: float) -> bool:
    import httpx

    # One client for both requests. A plain-http API server has no certificate to verify: loading the CA
    # bundle costs more CPU than the two requests (py-spy: 90 % of the note's time in a backfill's tasks).
    with httpx.Client(base_url=base_url, timeout=timeout, verify=httpx.URL(base_url).scheme != "http") as client:
        token = client.post("/auth/token", json={"username": login, "password": password})
        token.raise_for_status()
        response = client.patch(
            f"/api/v2/dags/{quote(dag_id, safe='')}/dagRuns/{quote(run_id, safe='')}",
            params={"update_mask": "note"},
            json={"note": note[:MAX_NOTE_LENGTH]},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        response.raise_for_status()
    log.info("Run note: %s", note)
    return True


def _first_line(error: BaseException) -> str:
    return (str(error).splitlines() or [""])[0][:200]
