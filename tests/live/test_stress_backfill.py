"""Issue 13's stress test: busy backfills on the live scheduler, four runs at a time, with the song
catalogue changing while they run. Zero deadlocks, zero failed runs, and the warehouse equals the
independent model (tests/expected.py), round after round.

`pytest -m stress` runs one round (48 hours; `make test` leaves it out). `make stress [ROUNDS=N]`
runs this test with STRESS_ROUNDS=N (default: enough rounds for 200 runs) and prints a line per
round; see docs/stress-test.md. `make stress-month` backfills a month the same way, under Redshift's
rules, and reports the peak table count and the serialization failures (issue 28).
The round itself is in tests/live/stress.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.live import stress
from tests.live.conftest import ARTIFACTS

pytestmark = pytest.mark.integration


@pytest.mark.stress
def test_busy_parallel_backfills_with_a_changing_catalogue(sparkify_dag_live, stack, s3, db, sample_data):
    rounds = stress.requested_rounds()
    results = []
    with stress.report_to(ARTIFACTS / "stress-report.txt") as report:
        report(f"stress: {rounds} round(s) of {stress.HOURS} hours, --max-active-runs {stress.MAX_ACTIVE_RUNS}")
        try:
            with stress.listing_each_run(sparkify_dag_live):
                for number in range(rounds):
                    results.append(stress.run_round(number, sparkify_dag_live, s3, db, stack, sample_data, report))
        finally:  # also when stopped with Ctrl-C: the rounds that finished are the result
            report(stress.summary(results))

    for result in results:
        assert result.ok, result.line()
        # The round did what it set out to do: four runs at a time, a change in the middle that
        # later hours' plays see (the model has plays of the new songs) and earlier ones do not.
        assert 2 <= result.most_runs_at_once <= stress.MAX_ACTIVE_RUNS, result.line()
        assert result.runs_done_before_change >= stress.CHANGE_AFTER_DONE, result.line()
        assert result.runs_started_after_change >= stress.HOURS - stress.LATE_FROM, result.line()
        assert result.new_song_plays > 0, result.line()
    assert sum(r.runs for r in results) == stress.HOURS * rounds


@pytest.mark.stress
def test_a_month_backfill_under_redshifts_rules(sparkify_dag_live, stack, s3, db, sample_data):
    """Issue 28: a month (720 hourly runs, December 2018) backfilled 4 at a time at SERIALIZABLE, with the table
    quota and the run tables' teardown, while the catalogue changes. Every run succeeds, the star schema equals the
    model, and the report gives the peak table count, the serialization failures met and the retries
    (`make stress-month`; STRESS_MONTH_DAYS=N for a shorter trial)."""
    plan = stress.month_plan()
    with stress.report_to(ARTIFACTS / "stress-month-report.txt") as report:
        report(f"stress: a month, {plan.hours} hours, --max-active-runs {stress.MAX_ACTIVE_RUNS}, SERIALIZABLE")
        with stress.listing_each_run(sparkify_dag_live):
            result = stress.run_round(0, sparkify_dag_live, s3, db, stack, sample_data, report, plan)

    assert result.ok, result.line()
    assert result.runs == plan.hours, result.line()
    assert 2 <= result.most_runs_at_once <= stress.MAX_ACTIVE_RUNS, result.line()
    assert result.runs_done_before_change >= plan.change_after_done, result.line()
    assert result.new_song_plays > 0, result.line()
    assert result.tables is not None and result.tables.samples > 0, result.line()
    # the teardown keeps the warehouse's tables to the runs in flight: no growth with the month's history
    assert result.tables.peak <= result.tables.bound, result.line()


def test_the_model_tells_the_catalogues_apart(stack, sample_data):
    """The round's data makes the change visible: the new catalogue differs in songs and artists, its
    late-hour plays match the new songs, and the early hours' rewritten plays match in neither."""
    data = stress.prepare_round(0, sample_data, stack.state_dir / "stress" / "model-check")
    early = {h: False for h in data.hours[: stress.EARLY_HOURS]}
    model_old, problems_old = stress.expected_round(data, {h: False for h in data.hours})
    model_new, problems_new = stress.expected_round(data, {h: True for h in data.hours})
    assert problems_old == problems_new == []
    assert model_old.songs == model_new.songs  # expected_round takes the dimensions from the new catalogue
    old_star = stress.expected_star(data.before, [(data.first_hour, data.first_hour + timedelta(hours=stress.HOURS))])
    assert old_star.songs != model_new.songs and old_star.artists != model_new.artists
    changed = {row for row in model_new.songs if row[0] == data.change.changed_song_id}
    assert changed and next(iter(changed))[3] in (stress.CHANGED_YEAR, stress.CHANGED_YEAR + 1)
    assert {row[0]: row[2] for row in model_new.artists}[data.change.changed_artist_id] == "Changed Place, CA"
    new_ids = set(data.change.new_song_ids)
    assert not any(row[4] in new_ids for row in model_old.songplays)
    assert any(h in early for h in data.rewritten_hours), "some early hours should play the new songs too"
    assert any(h >= data.hours[stress.LATE_FROM] for h in data.rewritten_hours)
    # As a round sees it: the early hours before the change, the middle ones in flight (the same
    # whichever catalogue they saw), the late ones after: only late plays match the new songs.
    middle = {h: None for h in data.hours[stress.EARLY_HOURS : stress.LATE_FROM]}
    mixed, problems = stress.expected_round(
        data, {**early, **middle, **{h: True for h in data.hours[stress.LATE_FROM :]}}
    )
    assert problems == []
    late_plays = [row for row in mixed.songplays if row[4] in new_ids]
    assert late_plays and all(stress.hour_of(row[1]) >= data.hours[stress.LATE_FROM] for row in late_plays)
    assert {row[4] for row in late_plays} == new_ids
    assert len(mixed.songplays) == len(model_new.songplays) and mixed.songplays != model_new.songplays
    # An early hour in flight at the change would be ambiguous, and the round says so.
    _, problems = stress.expected_round(data, {**{h: None for h in early}, **middle})
    assert problems and all("in flight" in p for p in problems)
