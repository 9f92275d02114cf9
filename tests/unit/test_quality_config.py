"""The declarative check configuration: compilation, and refusal of bad declarations at parse time."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sparkify.operators.publish import Publication
from sparkify.quality_config import CheckConfigError, comparison_for, load_quality_checks
from tests.support import PROJECT_ROOT, SQL_DIR

DDL = SQL_DIR / "create_tables.sql"


def compile_checks(tmp_path: Path, *checks: dict, publications=()) -> list:
    path = tmp_path / "checks.yaml"
    path.write_text(yaml.safe_dump({"window_columns": {"songplays": "start_time"}, "checks": list(checks)}))
    return load_quality_checks(path, SQL_DIR, DDL, publications)


SHADOWS = (
    Publication("songplays", "songplays_shadow", window_column="start_time"),
    Publication("users", "users_shadow", key="user_id"),
)


def test_with_publications_a_fact_window_check_reads_only_the_shadow(tmp_path):
    [check] = compile_checks(
        tmp_path, {"name": "n", "kind": "null_check", "table": "songplays", "column": "level"}, publications=SHADOWS
    )
    assert check.sql == (
        "SELECT COUNT(*) FROM songplays_shadow "
        'WHERE ("start_time" >= %(window_start)s AND "start_time" < %(window_end)s) AND "level" IS NULL'
    )


def test_with_publications_no_check_reads_all_of_a_published_table(tmp_path):
    """Hourly, a check reads the window or the run's rows: a whole published table belongs to audit_checks."""
    for table, column in (("songplays", "level"), ("users", "level")):
        with pytest.raises(CheckConfigError, match=f"all of the published table '{table}'.*audit_checks"):
            compile_checks(
                tmp_path,
                {"name": "n", "kind": "null_check", "table": table, "column": column, "scope": "all"},
                publications=SHADOWS,
            )
    with pytest.raises(CheckConfigError, match="cannot be looked up in the fact 'songplays'"):
        compile_checks(
            tmp_path,
            {
                "name": "r",
                "kind": "referential",
                "table": "users",
                "column": "user_id",
                "references": {"table": "songplays", "column": "user_id"},
            },
            publications=SHADOWS,
        )


def test_with_publications_a_dimension_check_reads_the_rows_the_run_merges(tmp_path):
    [check] = compile_checks(
        tmp_path, {"name": "u", "kind": "unique_check", "table": "users", "column": "user_id"}, publications=SHADOWS
    )
    assert check.sql == (
        'SELECT COUNT(*) FROM (SELECT ROW_NUMBER() OVER (PARTITION BY "user_id") AS key_occurrence '
        'FROM users_shadow WHERE (TRUE) AND "user_id" IS NOT NULL) numbered WHERE key_occurrence > 1'
    )


def test_with_publications_a_fact_check_of_the_run_reads_its_whole_shadow(tmp_path):
    [check] = compile_checks(
        tmp_path,
        {"name": "n", "kind": "null_check", "table": "songplays", "column": "start_time", "scope": "run"},
        publications=SHADOWS,
    )
    assert check.sql == 'SELECT COUNT(*) FROM songplays_shadow WHERE (TRUE) AND "start_time" IS NULL'


def test_with_publications_a_windowed_dimension_reads_the_published_rows_of_the_window_and_the_shadow(tmp_path):
    path = tmp_path / "checks.yaml"
    entry = {"name": "h", "kind": "max", "table": "time", "column": "hour", "expect": {"leq_to": 23}}
    path.write_text(yaml.safe_dump({"window_columns": {"time": "start_time"}, "checks": [entry]}))
    publication = Publication("time", "time_shadow", key="start_time", key_in_window=True)
    [check] = load_quality_checks(path, SQL_DIR, DDL, [publication])
    assert check.sql == (
        'SELECT MAX("hour") FROM (SELECT * FROM "time" published WHERE published."start_time" >= %(window_start)s '
        'AND published."start_time" < %(window_end)s AND NOT EXISTS (SELECT 1 FROM time_shadow s WHERE '
        's."start_time" = published."start_time") UNION ALL SELECT * FROM time_shadow) t '
        'WHERE "start_time" >= %(window_start)s AND "start_time" < %(window_end)s'
    )


def test_with_publications_a_row_count_of_a_whole_dimension_counts_up_to_its_lower_bound(tmp_path):
    entry = {"name": "c", "kind": "row_count", "table": "users", "scope": "all", "expect": {"greater_than": 2}}
    [check] = compile_checks(tmp_path, entry, publications=SHADOWS)
    assert check.sql.startswith('SELECT COUNT(*) FROM (SELECT 1 FROM (SELECT * FROM "users" published')
    assert check.sql.endswith("UNION ALL SELECT * FROM users_shadow) t LIMIT 3) counted")
    with pytest.raises(CheckConfigError, match="all of the published table 'users'"):
        compile_checks(tmp_path, {**entry, "expect": {"leq_to": 5}}, publications=SHADOWS)


def test_with_publications_a_referential_check_finds_keys_published_or_in_the_shadow(tmp_path):
    [check] = compile_checks(
        tmp_path,
        {
            "name": "r",
            "kind": "referential",
            "table": "songplays",
            "column": "user_id",
            "references": {"table": "users", "column": "user_id"},
        },
        publications=SHADOWS,
    )
    assert check.sql == (
        'SELECT COUNT(*) FROM songplays_shadow child WHERE (child."start_time" >= %(window_start)s AND '
        'child."start_time" < %(window_end)s) AND child."user_id" IS NOT NULL '
        'AND NOT EXISTS (SELECT 1 FROM "users" parent WHERE parent."user_id" = child."user_id") '
        'AND NOT EXISTS (SELECT 1 FROM users_shadow parent WHERE parent."user_id" = child."user_id")'
    )


def test_with_publications_a_fact_unique_check_reads_the_window_only(tmp_path):
    """Keys shared with other windows are the whole-table audit's: no sort or dist key leads to them."""
    [check] = compile_checks(
        tmp_path,
        {"name": "u", "kind": "unique_check", "table": "songplays", "column": "songplay_id"},
        publications=SHADOWS,
    )
    assert check.sql == (
        'SELECT COUNT(*) FROM (SELECT ROW_NUMBER() OVER (PARTITION BY "songplay_id") AS key_occurrence '
        'FROM songplays_shadow WHERE ("start_time" >= %(window_start)s AND "start_time" < %(window_end)s) '
        'AND "songplay_id" IS NOT NULL) numbered WHERE key_occurrence > 1'
    )


def test_the_project_checks_cover_every_kind():
    checks = load_quality_checks(PROJECT_ROOT / "include" / "quality_checks.yaml", SQL_DIR, DDL)
    document = yaml.safe_load((PROJECT_ROOT / "include" / "quality_checks.yaml").read_text())
    kinds = {entry["kind"] for entry in document["checks"]}
    assert kinds == {
        "row_count",
        "null_check",
        "unique_check",
        "min",
        "max",
        "accepted_values",
        "referential",
        "freshness",
        "reconciliation",
        "custom",
    }
    assert len(checks) == len(document["checks"])
    assert {c.severity for c in checks} == {"error", "warn"}


def test_window_scoped_column_check_sql(tmp_path):
    [check] = compile_checks(tmp_path, {"name": "n", "kind": "null_check", "table": "songplays", "column": "level"})
    assert check.sql == (
        'SELECT COUNT(*) FROM "songplays" '
        'WHERE ("start_time" >= %(window_start)s AND "start_time" < %(window_end)s) AND "level" IS NULL'
    )
    assert (check.comparison, check.expected, check.severity) == ("equal", 0, "error")


def test_column_checks_reuse_common_sql_templates(tmp_path):
    [check] = compile_checks(
        tmp_path, {"name": "m", "kind": "max", "table": "users", "column": "user_id", "expect": {"leq_to": 9}}
    )
    assert check.sql == 'SELECT MAX("user_id") FROM "users" WHERE TRUE'


def test_unique_checks_neither_count_distinct_nor_group_by_the_column(tmp_path):
    """Redshift's planner trusts a declared key: "a SELECT DISTINCT query might return duplicate rows if the
    primary key is not unique" (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html),
    and a grouping by it may be taken as one row per group. The checks of the project's file, each scope."""
    path = PROJECT_ROOT / "include" / "quality_checks.yaml"
    checks = [
        check
        for section in ("checks", "audit_checks")
        for check in load_quality_checks(path, SQL_DIR, DDL, SHADOWS if section == "checks" else (), section)
        if check.kind == "unique_check"
    ]
    assert {c.name for c in checks} == {
        "songplays_songplay_id_unique",
        "users_user_id_unique",
        "time_start_time_unique",
        "audit_songplays_songplay_id_unique",
        "audit_users_user_id_unique",
    }
    for check in checks:
        column = f'"{check.column}"'
        assert "DISTINCT" not in check.sql.upper() and "GROUP BY" not in check.sql.upper(), check.name
        assert f"ROW_NUMBER() OVER (PARTITION BY {column}) AS key_occurrence" in check.sql, check.name
        assert check.sql.endswith(f"AND {column} IS NOT NULL) numbered WHERE key_occurrence > 1"), check.name


def test_accepted_values_are_bound_as_parameters(tmp_path):
    [check] = compile_checks(
        tmp_path,
        {"name": "lv", "kind": "accepted_values", "table": "users", "column": "level", "values": ["free", "it's"]},
    )
    assert "it's" not in check.sql
    assert check.parameters == {"lv_0": "free", "lv_1": "it's"}
    assert check.sql.endswith('("level" IS NULL OR "level" NOT IN (%(lv_0)s, %(lv_1)s))')


def test_referential_and_reconciliation_sql(tmp_path):
    ref, rec = compile_checks(
        tmp_path,
        {
            "name": "r",
            "kind": "referential",
            "table": "songplays",
            "column": "user_id",
            "references": {"table": "users", "column": "user_id"},
            "scope": "all",
        },
        {
            "name": "c",
            "kind": "reconciliation",
            "table": "songplays",
            "source_sql": "checks/nextsong_events_in_window.sql",
        },
    )
    assert ref.sql == (
        'SELECT COUNT(*) FROM "songplays" child WHERE (TRUE) AND child."user_id" IS NOT NULL '
        'AND NOT EXISTS (SELECT 1 FROM "users" parent WHERE parent."user_id" = child."user_id")'
    )
    assert rec.expected_sql == (SQL_DIR / "checks" / "nextsong_events_in_window.sql").read_text()


@pytest.mark.parametrize(
    ("expect", "comparison", "expected"),
    [
        ({"equal_to": 0}, "equal", 0),
        ({"equal_to": 100, "tolerance": 0.1}, "between", [90.0, 110.0]),
        ({"greater_than": 0}, "greater_than", 0),
        ({"geq_to": 1}, "at_least", 1),
        ({"less_than": 5}, "less_than", 5),
        ({"leq_to": 23}, "at_most", 23),
        ({"geq_to": 0, "leq_to": 23}, "between", [0, 23]),
    ],
)
def test_common_sql_expectations(expect, comparison, expected):
    assert comparison_for(expect, "here") == (comparison, expected)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"kind": "nonsense", "table": "users"}, "unknown kind 'nonsense'"),
        ({"kind": "null_check", "table": "users"}, "a null_check check needs column"),
        ({"kind": "null_check", "table": "users", "column": "email"}, "table 'users' has no column 'email'"),
        ({"kind": "null_check", "table": "customers", "column": "id"}, "table 'customers' is not in the warehouse DDL"),
        ({"kind": "null_check", "table": "users; DROP TABLE users", "column": "level"}, "Invalid table name"),
        ({"kind": "null_check", "table": "users", "column": 'level" OR 1=1 --'}, "Invalid column name"),
        ({"kind": "min", "table": "users", "column": "user_id", "expect": {"about": 3}}, "unknown comparison"),
        ({"kind": "min", "table": "users", "column": "user_id", "expect": {"geq_to": "3"}}, "must be a number"),
        (
            {"kind": "min", "table": "users", "column": "user_id", "expect": {"geq_to": 5, "leq_to": 1}},
            "geq_to <= leq_to",
        ),
        (
            {"kind": "min", "table": "users", "column": "user_id", "expect": {"equal_to": 1, "geq_to": 0}},
            "cannot be combined",
        ),
        ({"kind": "row_count", "table": "users", "expect": {"geq_to": 1}, "severity": "fatal"}, "severity"),
        ({"kind": "row_count", "table": "users", "expect": {"geq_to": 1}, "colour": "red"}, "unknown field"),
        ({"kind": "row_count", "table": "users", "expect": {"geq_to": 1}, "scope": "window"}, "cannot be scoped"),
        ({"kind": "row_count", "table": "users", "expect": {"geq_to": 1}, "scope": "ever"}, "scope must be one of"),
        ({"kind": "custom", "sql": "checks/none.sql", "expect": {"equal_to": 0}}, "does not exist"),
        (
            {"kind": "referential", "table": "songplays", "column": "user_id", "references": {"table": "users"}},
            "references needs exactly a table and a column",
        ),
        (
            {
                "kind": "freshness",
                "table": "songplays",
                "source_table": "staging_events",
                "source_filter": "1=1; DROP TABLE users",
            },
            "single SQL condition",
        ),
        (
            {
                "kind": "reconciliation",
                "table": "songplays",
                "source_sql": "checks/nextsong_events_in_window.sql",
                "expect": {"equal_to": 1},
            },
            "drop 'expect'",
        ),
    ],
)
def test_bad_declarations_are_refused_with_a_clear_message(tmp_path, entry, message):
    with pytest.raises((CheckConfigError, ValueError), match=message):
        compile_checks(tmp_path, {"name": "bad_check", **entry})


def test_duplicate_names_are_refused(tmp_path):
    entry = {"name": "same", "kind": "row_count", "table": "users", "expect": {"geq_to": 0}}
    with pytest.raises(CheckConfigError, match="repeated: same"):
        compile_checks(tmp_path, entry, entry)


def test_a_bad_configuration_parses_but_is_reported_before_a_run_and_fails_the_audit_at_once(tmp_path):
    """Parsing the DAG reads no check file; compiling the DAG's declared checks (as the DAG-integrity
    tests do) reports the bad entry, and the audit task fails without retries: a retry reads the same file."""
    import shutil

    import pendulum
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.exceptions import AirflowFailException

    from tests.support import task_context

    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "dags", project / "dags")
    shutil.copytree(PROJECT_ROOT / "include", project / "include")
    config = project / "include" / "quality_checks.yaml"
    broken = "  - name: broken\n    kind: null_check\n    table: users\n"
    config.write_text(config.read_text().replace("\naudit_checks:\n", f"\n{broken}\naudit_checks:\n", 1))
    bag = DagBag(dag_folder=str(project / "dags"))
    assert bag.import_errors == {}
    audit = bag.dags["sparkify_etl"].get_task("run_quality_checks")
    assert audit.checks_file.path == config
    with pytest.raises(CheckConfigError, match="check 'broken': a null_check check needs column"):
        audit.checks_file.load()
    hour = pendulum.datetime(2018, 11, 15, 12, tz="UTC")
    with pytest.raises(AirflowFailException, match="Bad data quality checks: .*check 'broken'"):
        audit.execute(task_context(hour, hour.add(hours=1)))  # fails before it connects to the warehouse


def test_invalid_yaml_is_a_check_config_error(tmp_path):
    path = tmp_path / "checks.yaml"
    path.write_text("checks: [unclosed\n")
    with pytest.raises(CheckConfigError, match="not valid YAML"):
        load_quality_checks(path, SQL_DIR, DDL)
