"""The dialect section's helpers, without any server: reading the emulator's statement log, the percentile,
and the figures `measure` derives from the translation of a few statements."""

from __future__ import annotations

import pytest

from bench.dialect import measure, parse_statement_log, percentile

# Three records as the emulator's statement log writes them ("%(asctime)s %(message)s", message
# "pid=<n> <statement>"): a statement of several lines, a COPY the emulator ran itself, a one-liner.
LOG = (
    "2026-12-07 04:06:31,120 pid=41 INSERT INTO t\n"
    "SELECT 1\n"
    "  -- 2026-12-07 is only a date inside the statement\n"
    "2026-12-07 04:06:31,125 pid=41 COPY staging_events FROM s3://bucket/manifests/x.manifest\n"
    "2026-12-07 04:06:31,130 pid=42 SELECT version()\n"
)


def test_the_log_gives_each_statement_whole_without_the_copies_the_emulator_ran():
    assert parse_statement_log(LOG) == [
        "INSERT INTO t\nSELECT 1\n  -- 2026-12-07 is only a date inside the statement",
        "SELECT version()",
    ]
    assert parse_statement_log("") == []


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(20, 0, -1)]  # 20 values, unordered
    assert percentile(values, 0.95) == 19.0  # rank ceil(0.95 * 20) = 19
    assert percentile(values, 0.5) == 10.0
    assert percentile([3.0], 0.95) == 3.0


def test_measure_counts_the_gate_rewrites_and_refusals():
    statements = [
        "SELECT 1",  # no Redshift word: the gate sends it on
        # TOP n, which PostgreSQL lacks, has to be rewritten (LIMIT n):
        # https://docs.aws.amazon.com/redshift/latest/dg/r_SELECT_list.html
        "SELECT TOP 3 a FROM t ORDER BY a",
        # Redshift's INSERT has no RETURNING clause, so it is refused:
        # https://docs.aws.amazon.com/redshift/latest/dg/r_INSERT_30.html
        "INSERT INTO t VALUES (1) RETURNING a",
    ]
    result = measure(statements, rounds=3)
    assert (result["statements"], result["gated"], result["lexed"]) == (3, 1, 2)
    assert result["gate_share"] == pytest.approx(1 / 3, abs=1e-4)
    assert (result["rewritten"], result["refused"]) == (1, 1)
    assert len(result["_costs"]) == 3 and all(cost > 0 for cost in result["_costs"])
    assert result["median_ms"] <= result["p95_ms"] == result["max_ms"]
