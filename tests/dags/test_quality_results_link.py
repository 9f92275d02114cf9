"""sparkify_etl in the UI: run_quality_checks carries the "Quality results" extra link and writes its page next to
the report (tests/integration/test_quality_page.py runs it)."""

from __future__ import annotations

import pytest

from tests.support import PROJECT_ROOT


@pytest.fixture(scope="module")
def etl_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_etl.py"))
    assert bag.import_errors == {}
    return bag.dags["sparkify_etl"]


def test_the_quality_task_has_the_link_and_the_dag_serializes_it(etl_dag):
    from airflow.serialization.serialized_objects import DagSerialization

    task = etl_dag.get_task("run_quality_checks")
    assert [link.name for link in task.operator_extra_links] == ["Quality results"]
    serialized = DagSerialization.to_dict(etl_dag)
    [encoded] = [t for t in serialized["dag"]["tasks"] if t["__var"]["task_id"] == "run_quality_checks"]
    assert encoded["__var"]["_operator_extra_links"] == {"Quality results": "_link_QualityResultsLink"}


def test_the_page_goes_to_the_report_location_with_the_dags_aws_connection(etl_dag):
    task = etl_dag.get_task("run_quality_checks")
    assert (
        task.results_page_location
        == "{{ var.value.get('sparkify_report_location', 's3://sparkify-staging/reports/') }}"
    )
    assert task.aws_conn_id == "{{ var.value.get('sparkify_aws_conn_id', 'aws_default') }}"
    assert {"results_page_location", "aws_conn_id"} <= set(task.template_fields)


def test_the_plugin_registers_both_links_and_the_route_that_opens_them():
    from airflow.api_fastapi.app import RESERVED_URL_PREFIXES

    from sparkify.airflow_plugin import SparkifyPlugin
    from sparkify.pages.mount import PagesApp

    assert [link.name for link in SparkifyPlugin.operator_extra_links] == ["Report", "Quality results"]
    [app] = SparkifyPlugin.fastapi_apps
    assert isinstance(app["app"], PagesApp) and app["url_prefix"] == "/sparkify"
    assert not any(app["url_prefix"].startswith(prefix) for prefix in RESERVED_URL_PREFIXES)
