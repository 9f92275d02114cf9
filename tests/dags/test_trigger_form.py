"""The trigger form of sparkify_etl: what its Param schemas accept, and what the form marks required.

Airflow 3.3 validates each Param on its own (`ParamsDict.validate` resolves them one by one with
`jsonschema`), so a rule across two fields (`window_end` after `window_start`, both or neither) cannot
be written in a Param: `begin` checks it and fails the run with one line (tests/unit/test_run_note.py).
"""

from __future__ import annotations

import pytest
from airflow.sdk.definitions.param import ParamsDict
from airflow.sdk.exceptions import ParamValidationError

from tests.support import PROJECT_ROOT


@pytest.fixture(scope="module")
def params():
    from airflow.dag_processing.dagbag import DagBag

    dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags")).dags["sparkify_etl"]
    return dag.params


def form_marks_required(schema: dict) -> bool:
    """The UI's rule (airflow/ui, `isRequired` of the flexible form): a field is required, with a red `*`,
    when its schema has a `type` that is not a list containing "null"."""
    kind = schema.get("type")
    return bool(kind) and not (isinstance(kind, list) and "null" in kind)


def test_no_field_of_the_form_looks_required(params):
    marked = [name for name, param in params.items() if form_marks_required(params.get_param(name).schema)]
    assert marked == []


def test_the_defaults_validate_and_full_refresh_stays_a_switch(params):
    assert ParamsDict(dict(params.items())).validate() == {
        "window_start": None,
        "window_end": None,
        "full_refresh": False,
    }
    assert [k for k in params.get_param("full_refresh").schema["type"] if k != "null"] == ["boolean"]


def _with(params, **values) -> ParamsDict:
    copy = ParamsDict({name: params.get_param(name) for name in params.keys()})
    for name, value in values.items():
        copy[name] = value
    return copy


def test_a_malformed_date_is_refused_before_the_run_is_created(params):
    with pytest.raises(ParamValidationError, match="window_start"):
        _with(params, window_start="15/11/2018 07:00").validate()


def test_full_refresh_refuses_anything_but_a_boolean(params):
    with pytest.raises(ParamValidationError, match="full_refresh"):
        _with(params, full_refresh="yes").validate()


def test_a_reversed_window_passes_the_form_so_begin_must_refuse_it(params):
    resolved = _with(params, window_start="2018-11-15T08:00:00Z", window_end="2018-11-15T07:00:00Z").validate()
    assert resolved["window_end"] < resolved["window_start"]  # the schema cannot see the other field
