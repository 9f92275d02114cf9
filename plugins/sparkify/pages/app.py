"""The API server's route behind the "Report" and "Quality results" links (sparkify.pages.urls).

`GET /sparkify/pages/{report|quality}?dag_id=…&run_id=…&task_id=…[&map_index=…]`:

1. Airflow's own check, as its REST API does for a task instance: the caller's token (the UI's
   cookie or a bearer token) and read access to the DAG; 401 or 403 otherwise.
2. The page's S3 URI from the task's XCom in the metadata database (sparkify.pages.sources); a
   404 text when the run, the task or its page is unknown.
3. A 307 to a presigned GET URL of the object, made now and valid 10 minutes (sparkify.pages.presign).
"""

from __future__ import annotations

from typing import Literal

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import DagAccessEntity, requires_access_dag
from airflow.models.xcom import XComModel
from fastapi import Depends, FastAPI, status
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from sqlalchemy import select

from sparkify.pages.presign import presigned_get
from sparkify.pages.sources import PAGES

app = FastAPI(title="Sparkify pages", docs_url=None, redoc_url=None, openapi_url=None)


@app.get("/pages/{page}", dependencies=[Depends(requires_access_dag("GET", DagAccessEntity.TASK_INSTANCE))])
def open_page(
    page: Literal["report", "quality"],
    dag_id: str,
    run_id: str,
    task_id: str,
    session: SessionDep,
    map_index: int = -1,
) -> Response:
    """Redirect to the page the task wrote, or say that there is none."""
    source = PAGES[page]
    row = session.scalar(
        select(XComModel).where(
            XComModel.dag_id == dag_id,
            XComModel.run_id == run_id,
            XComModel.task_id == task_id,
            XComModel.map_index == map_index,
            XComModel.key == source.xcom_key,
        )
    )
    found = source.page_object(XComModel.deserialize_value(row), run_id) if row is not None else None
    if found is None:
        return PlainTextResponse(
            f"No {source.title} for task {task_id} of run {run_id} of DAG {dag_id}: "
            "the run or the task is unknown, or the task has not written one (yet).",
            status_code=status.HTTP_404_NOT_FOUND,
            headers={"X-Content-Type-Options": "nosniff"},  # the ids it repeats stay text
        )
    return RedirectResponse(presigned_get(found), status_code=status.HTTP_307_TEMPORARY_REDIRECT)
