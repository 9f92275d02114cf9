"""Compose's bucket holds all its data (seed-s3 writes the sample), so its init job sets
`sparkify_data_complete` as `make up` does: a run for an hour with no day file fails at once instead of
waiting out the late-data timeout (issue 34)."""

from __future__ import annotations

import shlex

import yaml

from sparkify.late_data import DATA_COMPLETE_VARIABLE, parse_data_complete
from tests.support import PROJECT_ROOT


def test_the_compose_init_job_sets_data_complete_unless_a_user_set_it():
    init = yaml.safe_load((PROJECT_ROOT / "docker-compose.yaml").read_text())["services"]["airflow-init"]
    script = init["command"][-1]
    lines = [line.strip() for line in script.replace("\\\n", " ").splitlines()]
    [line] = [line for line in lines if "variables set" in line]
    get, set_ = line.split("||")  # only when `variables get` fails: a value set in the UI stays
    assert shlex.split(get)[:5] == ["/entrypoint", "airflow", "variables", "get", DATA_COMPLETE_VARIABLE]
    command = shlex.split(set_)
    assert command[:5] == ["/entrypoint", "airflow", "variables", "set", DATA_COMPLETE_VARIABLE]
    assert len(command) == 6 and parse_data_complete(command[5]) is True
    assert script.index("chown") < script.index("variables set"), "after the database exists"
