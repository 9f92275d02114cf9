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
# The generated passwords (STATE_DIR/passwords.json) are this session's: every load_settings() and
# load_login() of the tests reads them, never the repository's .local/.
os.environ["SPARKIFY_STATE_DIR"] = str(STATE_DIR)
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


@pytest.fixture
def backend(stack):
    """An autocommit connection to the PostgreSQL behind the emulator, as its private superuser: for fault
    injection and fixtures that need PostgreSQL's own SQL (triggers, pg_sleep), which the emulator refuses as
    Redshift would. Objects it creates belong to that superuser: grant the client what it must use."""
    with psycopg.connect(WarehouseServer(stack).backend_dsn(), autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def s3(stack):
    return S3Server(stack).client()


@pytest.fixture(scope="session")
def airflow_db(stack):
    from local_stack.airflow_runner import migrate_metadata_db

    migrate_metadata_db(stack.airflow_home)
    return stack.airflow_home


# --- test tiers (docs/development.md) ----------------------------------------------------------
# Markers by folder, so a new test file is in its tier without saying so; `slow` lists the unit
# tests that take most of the fast tier's time (`make test-fast` runs `-m "not slow"`; `make test`
# runs everything). An entry is a file or a file::test, relative to the repository.
TIERS = {"integration": "integration", "live": "live", "bench": "integration", "fidelity": "integration"}
BROWSER_FIXTURE = "chromium"  # tests/live/conftest.py: Debian's Chromium driven by Playwright
SLOW = (
    "tests/unit/test_stage_memory.py",
    "tests/unit/test_makefile_arguments.py",
    "tests/unit/test_loader_fuzz.py",
    "tests/unit/test_json_stream.py::test_work_is_linear_in_the_size_of_the_input",
    "tests/unit/test_warehouse_pool.py::test_the_cli_pool_commands_exist",
)


def tier_markers(nodeid: str, fixtures: tuple[str, ...] | list[str] = ()) -> set[str]:
    """The tier markers of the test `nodeid` (relative to the repository): from where it lives, and
    `browser` when it uses the Chromium fixture."""
    parts = nodeid.split("/")
    markers = {TIERS[parts[1]]} if len(parts) > 2 and parts[0] == "tests" and parts[1] in TIERS else set()
    if parts[1:2] == ["live"]:
        markers.add("integration")  # the live tests start the stack too
    if BROWSER_FIXTURE in fixtures:
        markers.add("browser")
    if any(nodeid == slow or nodeid.startswith((slow + "::", slow + "[")) for slow in SLOW):
        markers.add("slow")
    return markers


def pytest_collection_modifyitems(config, items):
    for item in items:  # node ids are relative to the repository, where pyproject.toml is
        for marker in sorted(tier_markers(item.nodeid, getattr(item, "fixturenames", ()))):
            item.add_marker(marker)
