"""Fixtures for tests that run the real local stack."""

from __future__ import annotations

from datetime import date

import pytest

from local_stack.s3_server import upload_folder
from local_stack.sample_data import SampleSpec, generate

SAMPLE_SPEC = SampleSpec(seed=11, songs=60, users=20, first_day=date(2018, 11, 14), days=3, sessions_per_day=12)


@pytest.fixture(scope="module")
def keep_run_tables():
    """For modules that read a run's staging or shadow tables after the run ended: keep them
    (sparkify_keep_run_tables=all; by default the run's teardown drops them). Use it with
    `pytest.mark.usefixtures("keep_run_tables")` in the module's pytestmark."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRFLOW_VAR_SPARKIFY_KEEP_RUN_TABLES", "all")
        yield


@pytest.fixture(scope="session")
def sample_data(stack, s3):
    """Generated sample data, seeded into the default bucket as `make seed` would."""
    root = stack.state_dir / "sample"
    generate(root, SAMPLE_SPEC)
    upload_folder(s3, "udacity-dend", root, "us-west-2")
    return root


@pytest.fixture(scope="session")
def sparkify_dag(airflow_db):
    """The DAG, with retries off: a failing task fails the run at once instead of waiting 5 minutes."""
    from local_stack.airflow_runner import load_dag

    dag = load_dag()
    for task in dag.tasks:
        task.retries = 0
    return dag


@pytest.fixture
def load_errors(db):
    """A function returning the stl_load_errors rows of the COPYs run since the test began."""
    from tests.support import last_load_error_query, load_errors_since

    since = last_load_error_query(db)
    return lambda: load_errors_since(db, since)
