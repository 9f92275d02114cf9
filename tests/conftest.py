"""Test set-up: a private local stack on free ports, so `make test` runs beside `make up`.

The environment is set before anything imports Airflow, which reads its
configuration on first import.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import warnings
from pathlib import Path

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

from local_stack.processes import free_port  # noqa: E402
from local_stack.settings import load_settings  # noqa: E402

STATE_DIR = Path(tempfile.mkdtemp(prefix="sparkify-test-"))
STATE_DIR.chmod(0o755)
atexit.register(shutil.rmtree, STATE_DIR, ignore_errors=True)
SETTINGS = load_settings(state_dir=STATE_DIR, warehouse_port=free_port(), s3_port=free_port())
os.environ.update(SETTINGS.environment())
os.environ["AIRFLOW__CORE__DAGBAG_IMPORT_ERROR_TRACEBACKS"] = "True"

import psycopg  # noqa: E402
import pytest  # noqa: E402

from local_stack.s3_server import S3Server, manifest_bucket  # noqa: E402
from local_stack.warehouse_server import WarehouseServer  # noqa: E402

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture(scope="session")
def settings():
    return SETTINGS


@pytest.fixture(scope="session")
def stack(settings):
    """The embedded PostgreSQL and moto S3 servers, on this session's own ports and folders."""
    warehouse, s3 = WarehouseServer(settings), S3Server(settings)
    s3.start()
    s3.ensure_bucket(manifest_bucket(), "us-west-2")
    warehouse.start()
    yield settings
    s3.stop()
    warehouse.remove()


@pytest.fixture(scope="session")
def warehouse_dsn(stack):
    return WarehouseServer(stack).dsn()


@pytest.fixture
def db(warehouse_dsn):
    """An autocommit connection for test set-up and assertions."""
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def s3(stack):
    return S3Server(stack).client()


@pytest.fixture(scope="session")
def airflow_db(stack):
    from local_stack.airflow_runner import migrate_metadata_db

    migrate_metadata_db(stack.airflow_home)
    return stack.airflow_home
