"""Redshift fidelity: each documented example in cases/*.yaml, through both client protocols.

Every expectation is the result or error that the Amazon Redshift Database Developer Guide page
named in the case's `doc` shows. `make fidelity` prints and writes the per-area table (conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from local_stack.warehouse_server import WarehouseServer
from tests.fidelity.cases import Case, load_cases, rows_match
from tests.fidelity.drivers import PROTOCOLS, Client, Outcome, Psycopg2Client, RedshiftConnectorClient
from tests.support import put_objects

pytestmark = pytest.mark.integration
CASES = load_cases()
BUCKET = "sparkify-fidelity-cases"
CREDENTIALS = "ACCESS_KEY_ID 'fidelity-key' SECRET_ACCESS_KEY 'fidelity-secret-value'"


@pytest.fixture(scope="module")
def clients(stack) -> Iterator[dict[str, Client]]:
    made: dict[str, Client] = {
        "redshift_connector": RedshiftConnectorClient(stack),
        "psycopg2": Psycopg2Client(WarehouseServer(stack).dsn()),
    }
    yield made
    for client in made.values():
        client.close()


@pytest.fixture(scope="module")
def case_bucket(stack, s3) -> str:
    objects: dict[str, bytes | str] = {f"{case.id}/{key}": body for case in CASES for key, body in case.s3.items()}
    put_objects(s3, BUCKET, objects)
    return BUCKET


def _param(case: Case) -> object:
    """A case as a test parameter: a known gap is a strict xfail, so it fails once the emulator does it."""
    marks = [pytest.mark.xfail(strict=True, reason=f"known gap: {case.known_gap}")] if case.known_gap else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("driver", sorted(PROTOCOLS))
@pytest.mark.parametrize("case", [_param(case) for case in CASES])
def test_documented_behaviour(case: Case, driver: str, clients, case_bucket, record_property) -> None:
    info = {
        "id": case.id,
        "area": case.area,
        "doc": case.doc,
        "driver": driver,
        "note": case.note,
        "known_gap": case.known_gap,
    }
    record_property("fidelity", info)
    fill = {"s3": f"s3://{case_bucket}/{case.id}/", "credentials": CREDENTIALS}
    outcome = clients[driver].run(case, fill)
    problem = judge(case, outcome, fill)
    record_property("fidelity_problem", problem)
    assert problem is None, f"{case.id} ({PROTOCOLS[driver]} protocol): {problem}\n  doc: {case.doc}"


def judge(case: Case, outcome: Outcome, fill: dict[str, str]) -> str | None:
    """None when `outcome` is what the documentation shows, else what differs."""
    if outcome.setup_error:
        return outcome.setup_error
    got_error = outcome.rows is None
    if case.error is not None:
        if not got_error:
            return f"expected an error {case.error or ''}, got rows {outcome.rows!r}"
        want_state, want_text = case.error.get("sqlstate"), case.error.get("message")
        if want_state and outcome.sqlstate != want_state:
            return f"expected SQLSTATE {want_state}, got {outcome.sqlstate}: {outcome.message}"
        if want_text and want_text.lower() not in (outcome.message or "").lower():
            return f"expected an error saying {want_text!r}, got {outcome.sqlstate}: {outcome.message}"
        return None
    if got_error:
        return f"error {outcome.sqlstate}: {outcome.message}"
    if case.columns and tuple(c.lower() for c in outcome.columns) != case.columns:
        return f"expected columns {list(case.columns)}, got {list(outcome.columns)}"
    if isinstance(case.rows, list):
        expected = [[_fill(v, fill) for v in row] for row in case.rows]
        if not rows_match(expected, outcome.rows or [], case.ordered):
            return f"expected rows {expected!r}, got {outcome.rows!r}"
    return None


def _fill(value: object, fill: dict[str, str]) -> object:
    if isinstance(value, str):
        for key, text in fill.items():
            value = value.replace("{" + key + "}", text)
    return value
