"""`make summary`: the star schema's rows and the latest run's staging rows (runs stage into
run-scoped copies, so the base staging tables stay empty)."""

from __future__ import annotations

from datetime import datetime

import pytest

from local_stack.summary import latest_run_staging, print_summary
from sparkify.staging import prepare_run_staging
from tests.support import reset_schema

pytestmark = pytest.mark.integration


def stage_run(db, run_id: str, rows: int) -> dict[str, str]:
    with db.transaction(), db.cursor() as cursor:  # it takes LOCK TABLE, which needs a transaction block
        copies = prepare_run_staging(cursor, ["staging_events", "staging_songs"], run_id, 48)
    names = {name.rsplit("__r", 1)[0]: name for name in copies}
    for n in range(rows):
        db.execute(
            f'INSERT INTO "{names["staging_events"]}" (page, userid, sessionid, iteminsession, ts, level) '
            "VALUES ('NextSong', 1, 1, %s, %s, 'free')",
            (n, datetime(2018, 11, 15, 0, n)),
        )
    return names


def test_the_summary_counts_the_latest_runs_staging_copies(db, warehouse_dsn, capsys):
    reset_schema(db)
    assert latest_run_staging(db) == (None, [])
    stage_run(db, "scheduled__2018-11-15T00:00:00+00:00", 2)
    names = stage_run(db, "scheduled__2018-11-15T01:00:00+00:00", 3)
    run_id, staging = latest_run_staging(db)
    assert run_id == "scheduled__2018-11-15T01:00:00+00:00"
    assert staging == [("staging_events", names["staging_events"], 3), ("staging_songs", names["staging_songs"], 0)]
    print_summary(warehouse_dsn)
    out = capsys.readouterr().out
    assert "Staging of the latest run (scheduled__2018-11-15T01:00:00+00:00)" in out
    assert any(line.split()[:1] == ["staging_events"] and line.split()[-1] == "3" for line in out.splitlines())
    assert any(line.split() == ["songplays", "0"] for line in out.splitlines())
