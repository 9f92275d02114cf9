"""sparkify_etl emits the star-schema Asset when it finishes, which queues sparkify_report; the report it
then writes holds every analytics answer, each equal to the one computed in Python from the generated data.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone

import pytest

from sparkify.assets import SPARKIFY_STAR_SCHEMA
from sparkify.config import PROJECT_BUCKET
from sparkify.report.analytics_queries import load_queries
from sparkify.report.refresh import REPORT_FILE
from sparkify.report.text_table import format_value
from tests.expected import expected_star
from tests.expected_analytics import EXPECTED
from tests.support import PROJECT_ROOT, report_tables, reset_schema

pytestmark = pytest.mark.integration

START, END = datetime(2018, 11, 14), datetime(2018, 11, 17)  # every day of the integration sample
WINDOW = {"window_start": "2018-11-14T00:00:00Z", "window_end": "2018-11-17T00:00:00Z"}
QUERIES = load_queries(PROJECT_ROOT / "include" / "sql" / "analytics")


def run_etl(dag, conf: dict):
    from local_stack.airflow_runner import in_process_run

    return in_process_run(dag, START.replace(tzinfo=timezone.utc), conf)


def state_of(run) -> str:
    return str(getattr(run.state, "value", run.state))


def star_schema_events(run_id: str) -> list:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetEvent)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .filter(AssetModel.uri == SPARKIFY_STAR_SCHEMA.uri, AssetEvent.source_run_id == run_id)
            .all()
        )
        return [(e.source_dag_id, e.source_task_id) for e in rows]


def queued_dag_ids() -> set[str]:
    """The DAGs the scheduler will run because the star schema changed."""
    from airflow.models.asset import AssetDagRunQueue, AssetModel
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = (
            session.query(AssetDagRunQueue.target_dag_id)
            .join(AssetModel, AssetDagRunQueue.asset_id == AssetModel.id)
            .filter(AssetModel.uri == SPARKIFY_STAR_SCHEMA.uri)
            .all()
        )
        return {dag_id for (dag_id,) in rows}


def unpause(dag_id: str) -> None:
    """Register the dags folder's DAGs in the metadata database, as the DAG processor would, and unpause one.

    The scheduler queues runs only for unpaused DAGs, and new DAGs start paused.
    """
    from airflow.dag_processing.bundles.manager import DagBundlesManager
    from airflow.dag_processing.dagbag import BundleDagBag, sync_bag_to_db
    from airflow.models.dag import DagModel
    from airflow.utils.session import create_session

    manager = DagBundlesManager()
    manager.sync_bundles_to_db()
    for bundle in manager.get_all_dag_bundles():
        bundle.initialize()
        bag = BundleDagBag(dag_folder=bundle.path, bundle_path=bundle.path, bundle_name=bundle.name)
        sync_bag_to_db(bag, bundle.name, bundle.version)
    with create_session() as session:
        session.query(DagModel).filter_by(dag_id=dag_id).one().is_paused = False


def clear_queue() -> None:
    from airflow.models.asset import AssetDagRunQueue
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(AssetDagRunQueue).delete()


@pytest.fixture(scope="module")
def etl_run(sparkify_dag, sample_data, warehouse_dsn):
    """One successful sparkify_etl run over the whole sample, with sparkify_report unpaused."""
    import psycopg

    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        reset_schema(conn)
    unpause("sparkify_report")
    clear_queue()
    run = run_etl(sparkify_dag, WINDOW)
    assert state_of(run) == "success"
    return run


@pytest.fixture(scope="module")
def report_dag(airflow_db):
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_report.py"))
    assert bag.import_errors == {}
    return bag.dags["sparkify_report"]


def test_a_finished_etl_run_emits_the_asset_and_queues_the_report(etl_run):
    assert star_schema_events(etl_run.run_id) == [("sparkify_etl", "end")]
    assert "sparkify_report" in queued_dag_ids()


def test_a_failed_etl_run_emits_nothing(etl_run, sparkify_dag):
    failed = run_etl(sparkify_dag, {"window_start": WINDOW["window_end"], "window_end": WINDOW["window_start"]})

    assert state_of(failed) == "failed"
    assert star_schema_events(failed.run_id) == []


def test_the_report_dag_writes_every_answer_to_s3_and_make_report_fetches_it(
    etl_run, report_dag, sample_data, s3, tmp_path, monkeypatch, capsys
):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from local_stack import make_report

    prefix = f"reports-{uuid.uuid4().hex[:8]}/"  # this test's own prefix in the project's bucket
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_LOCATION", f"s3://{PROJECT_BUCKET}/{prefix}")
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_DIR", str(tmp_path / "not-here"))
    run = report_dag.test()

    assert state_of(run) == "success"
    assert not (tmp_path / "not-here").exists(), "the DAG writes nothing to a local folder"
    with create_session() as session:
        returned = (
            session.query(XComModel)
            .filter_by(dag_id=run.dag_id, run_id=run.run_id, task_id="refresh_report", key="return_value")
            .one()
            .value
        )
    [key] = [item["Key"] for item in s3.list_objects_v2(Bucket=PROJECT_BUCKET, Prefix=prefix).get("Contents", [])]
    assert re.fullmatch(rf"{prefix}sparkify_report_\d{{8}}T\d{{12}}Z\.html", key), key
    assert returned["path"] == f"s3://aws_default@{PROJECT_BUCKET}/{key}"
    page = s3.get_object(Bucket=PROJECT_BUCKET, Key=key)["Body"].read().decode("utf-8")
    assert page.count("data:image/png;base64,") == len(QUERIES)

    # `make report FETCH=latest`: the same page, as a local copy for the user.
    local = tmp_path / "mine"
    monkeypatch.setenv("AIRFLOW_VAR_SPARKIFY_REPORT_DIR", str(local))
    capsys.readouterr()
    assert make_report.main(["--fetch", "latest"]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == [
        f"Fetched s3://aws_default@{PROJECT_BUCKET}/{key}",
        f"Report written to {(local / REPORT_FILE).resolve()}",
    ]
    assert (local / REPORT_FILE).read_text(encoding="utf-8") == page

    star = expected_star(sample_data, [(START, END)])
    tables = report_tables(page)
    assert list(tables) == [query.name for query in QUERIES]
    for query in QUERIES:
        expected = [[format_value(value) for value in row] for row in EXPECTED[query.name](star)]
        assert expected, f"{query.name}: the sample should give an answer"
        assert tables[query.name] == expected, query.name
        assert returned["rows"][query.name] == len(expected)
