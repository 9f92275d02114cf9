"""The Amazon and common-sql providers' operators and hooks, unmodified, against the local stack.

A user who points an existing Redshift DAG at the local stack runs these classes as they are:
`S3ToRedshiftOperator` (APPEND, REPLACE, UPSERT), `RedshiftSQLHook.get_table_primary_key`,
`SQLExecuteQueryOperator` and the check operators on the `redshift` connection. The song files
are written here, one a duplicate of another as in the real bucket; every expected table is
computed from those files with the json module, as Redshift would hold it: keys are not
enforced, so the duplicate loads (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html).
"""

from __future__ import annotations

import gzip
import importlib.util
import json
import uuid
from collections import Counter
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, cast

import pytest
from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook
from airflow.providers.amazon.aws.transfers.s3_to_redshift import S3ToRedshiftOperator
from airflow.providers.common.sql.operators.sql import (
    SQLColumnCheckOperator,
    SQLExecuteQueryOperator,
    SQLTableCheckOperator,
)

from tests.support import StatementLog, clear_prefix, put_objects, task_context

if TYPE_CHECKING:
    from airflow.sdk import Context

pytestmark = pytest.mark.integration

BUCKET = "sparkify-provider-tests"
TABLE = "prov_songs"
REDSHIFT = "redshift"  # the connection id of .env's AIRFLOW_CONN_REDSHIFT
EPOCH = datetime(1970, 1, 1)
HOUR = ("2018-11-15T00:00:00Z", "2018-11-15T01:00:00Z")
COLUMNS = ("song_id", "title", "artist_id", "artist_name", "year", "duration", "first_played")
# Redshift DDL, as a DAG's create-table task would send it: the key is informational.
SONGS_DDL = f"""
CREATE TABLE public.{TABLE} (
    song_id      VARCHAR(18) NOT NULL,
    title        VARCHAR(256),
    artist_id    VARCHAR(18),
    artist_name  VARCHAR(256),
    year         INTEGER,
    duration     DOUBLE PRECISION,
    first_played TIMESTAMP,
    PRIMARY KEY (song_id)
) DISTSTYLE ALL SORTKEY (song_id)
"""
# JSON 'auto' matches the objects' keys to the column names; TIMEFORMAT reads first_played.
# https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html#copy-json
# https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html#copy-timeformat
JSON_OPTIONS = ["FORMAT AS JSON 'auto'", "TIMEFORMAT 'epochmillisecs'"]
# https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-file-compression.html
GZIP_OPTIONS = [*JSON_OPTIONS, "GZIP"]

Row = tuple[Any, ...]


# ---------------------------------------------------------------- the song files


def song(n: int, **fields: Any) -> dict[str, Any]:
    """A song object as in the song_data prefix, with a first_played time in epoch milliseconds."""
    base = {
        "num_songs": 1,
        "artist_id": f"AR{n % 3:016d}",
        "artist_latitude": 35.14968 + n,
        "artist_longitude": -90.04892 - n,
        "artist_location": "Memphis, TN",
        "artist_name": f"Björk {n % 3}",
        "song_id": f"SO{n:016d}",
        "title": f"Jóga {n}",
        "duration": 152.92036 + n,
        "year": 1990 + n if n % 4 else 0,
        "first_played": 1541990217796 + n * 3_600_000,
    }
    return {**base, **fields}


def song_files() -> dict[str, str]:
    """Five songs, one file each (one pretty-printed), and the third song again under another
    track's key: the duplicate the real bucket holds."""
    files = {
        f"song_data/A/A/{'ABCDE'[n]}/TRAA{n:03d}.json": json.dumps(song(n), indent=4 if n == 1 else None)
        for n in range(5)
    }
    files["song_data/B/C/A/TRBCA02.json"] = json.dumps(song(2), ensure_ascii=False)
    return files


def expected_row(record: dict[str, Any]) -> Row:
    """The prov_songs row COPY with JSON 'auto' and TIMEFORMAT 'epochmillisecs' makes of `record`."""
    values = {column: record.get(column) for column in COLUMNS}
    values["first_played"] = EPOCH + timedelta(milliseconds=record["first_played"])
    return tuple(values[column] for column in COLUMNS)


def expected_rows(files: dict[str, str]) -> Counter[Row]:
    return Counter(expected_row(json.loads(body)) for body in files.values())


# ---------------------------------------------------------------- fixtures and helpers


def hour_context() -> Context:
    """The parts of a task context that the operators read, for one hour of 2018-11-15."""
    return cast("Context", task_context(*HOUR))


@pytest.fixture
def songs_table(db):
    """An empty prov_songs with PRIMARY KEY (song_id)."""
    db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    db.execute(SONGS_DDL)
    yield db
    db.execute(f"DROP TABLE IF EXISTS {TABLE}")


@pytest.fixture
def prefix(s3, request) -> str:
    """An empty key prefix of the test's own."""
    name = f"{request.node.name.replace('[', '-').rstrip(']')}/"
    clear_prefix(s3, BUCKET, name)
    return name


@pytest.fixture
def plain_songs(s3, prefix) -> dict[str, str]:
    files = song_files()
    put_objects(s3, BUCKET, {prefix + "plain/" + key: body for key, body in files.items()})
    return files


@pytest.fixture
def gzip_songs(s3, prefix) -> dict[str, str]:
    files = song_files()
    put_objects(
        s3, BUCKET, {prefix + "gzip/" + key + ".gz": gzip.compress(body.encode()) for key, body in files.items()}
    )
    return files


def table_rows(db) -> Counter[Row]:
    return Counter(db.execute(f"SELECT {', '.join(COLUMNS)} FROM {TABLE}").fetchall())


def insert(db, rows: list[Row]) -> None:
    placeholders = ", ".join(["%s"] * len(COLUMNS))
    for row in rows:
        db.execute(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({placeholders})", row)


def s3_to_redshift(key: str, method: str, copy_options: list[str], **kwargs: Any) -> None:
    """The provider's operator, executed as a task would be."""
    operator = S3ToRedshiftOperator(
        task_id=f"load_{method.lower()}",
        redshift_conn_id=REDSHIFT,
        table=TABLE,
        s3_bucket=BUCKET,
        s3_key=key,
        method=method,
        copy_options=copy_options,
        **kwargs,
    )
    operator.execute(hour_context())


# A row already in the table, of a song the files hold too, with other values (its old version).
OLD_VERSION = expected_row(song(0, title="Jóga (demo)", duration=99.5))
# A row of a song the files do not hold.
OTHER_SONG = expected_row(song(9))


# ---------------------------------------------------------------- S3ToRedshiftOperator


def test_append_loads_every_object_duplicate_included_and_appends_again(songs_table, plain_songs, prefix):
    """APPEND is one COPY: both copies of the duplicate song load (the key is not enforced), and a
    second run appends the same rows again."""
    s3_to_redshift(prefix + "plain/song_data/", "APPEND", JSON_OPTIONS)
    loaded = expected_rows(plain_songs)
    assert sum(loaded.values()) == 6 and loaded[expected_row(song(2))] == 2
    assert table_rows(songs_table) == loaded

    s3_to_redshift(prefix + "plain/song_data/A/", "APPEND", JSON_OPTIONS)
    under_a = expected_rows({k: v for k, v in plain_songs.items() if k.startswith("song_data/A/")})
    assert table_rows(songs_table) == loaded + under_a


def test_replace_with_gzip_empties_the_table_and_loads_the_files(songs_table, gzip_songs, prefix):
    """REPLACE deletes the table's rows and COPYs in one transaction; the objects are gzip files."""
    insert(songs_table, [OLD_VERSION, OTHER_SONG])
    s3_to_redshift(prefix + "gzip/song_data/", "REPLACE", GZIP_OPTIONS)
    assert table_rows(songs_table) == expected_rows(gzip_songs)


def test_replace_that_fails_leaves_the_table_as_it_was(songs_table, s3, prefix):
    """A failed COPY rolls back REPLACE's DELETE: the transaction is one."""
    insert(songs_table, [OLD_VERSION, OTHER_SONG])
    put_objects(s3, BUCKET, {prefix + "bad/TRBAD.json": json.dumps(song(3, year="nineteen"))})
    with pytest.raises(Exception, match="stl_load_errors"):
        s3_to_redshift(prefix + "bad/", "REPLACE", JSON_OPTIONS)
    assert table_rows(songs_table) == Counter([OLD_VERSION, OTHER_SONG])


def upsert_result(files: dict[str, str], before: list[Row]) -> Counter[Row]:
    """What the provider's UPSERT leaves on Redshift: the rows whose song_id the files do not hold,
    then every row of the files (the staging copy's rows, the duplicate twice).
    https://docs.aws.amazon.com/redshift/latest/dg/merge-replacing-existing-rows.html"""
    staged = expected_rows(files)
    keys = {row[0] for row in staged}
    return Counter(row for row in before if row[0] not in keys) + staged


def test_upsert_with_upsert_keys_replaces_matching_rows(songs_table, plain_songs, prefix):
    """UPSERT COPYs into the temporary table #prov_songs (LIKE the target), then deletes the
    target's matching rows and inserts the staged ones. Run twice, it leaves the same rows.
    https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html (a # name: a temporary table)"""
    before = [OLD_VERSION, OTHER_SONG]
    insert(songs_table, before)
    s3_to_redshift(prefix + "plain/song_data/", "UPSERT", JSON_OPTIONS, upsert_keys=["song_id"])
    expected = upsert_result(plain_songs, before)
    assert OLD_VERSION not in expected and expected[OTHER_SONG] == 1
    assert table_rows(songs_table) == expected

    s3_to_redshift(prefix + "plain/song_data/", "UPSERT", JSON_OPTIONS, upsert_keys=["song_id"])
    assert table_rows(songs_table) == expected


def test_upsert_without_keys_reads_the_primary_key(songs_table, gzip_songs, prefix):
    """Without upsert_keys, the operator asks RedshiftSQLHook.get_table_primary_key for the key."""
    before = [OLD_VERSION, OTHER_SONG]
    insert(songs_table, before)
    s3_to_redshift(prefix + "gzip/song_data/", "UPSERT", GZIP_OPTIONS, schema="public")
    assert table_rows(songs_table) == upsert_result(gzip_songs, before)


def test_upsert_without_keys_on_a_table_without_a_key_is_refused_by_the_operator(songs_table, plain_songs, prefix):
    """No key declared and none given: the operator itself refuses, and the table is unchanged."""
    songs_table.execute(f"DROP TABLE {TABLE}")
    songs_table.execute(SONGS_DDL.replace(",\n    PRIMARY KEY (song_id)", ""))
    insert(songs_table, [OTHER_SONG])
    with pytest.raises(Exception, match=f"No primary key on public.{TABLE}"):
        s3_to_redshift(prefix + "plain/song_data/", "UPSERT", JSON_OPTIONS, schema="public")
    assert table_rows(songs_table) == Counter([OTHER_SONG])


@pytest.mark.parametrize(
    ("copy_options", "refusal"),
    [
        (["CSV"], "COPY format CSV is not supported by the local emulator: only JSON"),
        (["FORMAT AS PARQUET"], "COPY format PARQUET is not supported by the local emulator: only JSON"),
        ([*JSON_OPTIONS, "DATEFORMAT 'auto'"], "COPY option DATEFORMAT is not supported by the local emulator"),
    ],
)
def test_copy_options_the_emulator_lacks_are_refused_by_name(songs_table, plain_songs, prefix, copy_options, refusal):
    """What the emulator does not implement fails with SQLSTATE 0A000 naming it (a cluster would
    load), and REPLACE's DELETE is rolled back with it."""
    insert(songs_table, [OTHER_SONG])
    with pytest.raises(Exception, match=refusal) as raised:
        s3_to_redshift(prefix + "plain/song_data/", "REPLACE", copy_options)
    assert "0A000" in str(raised.value)
    assert table_rows(songs_table) == Counter([OTHER_SONG])


def test_redshift_to_s3_is_refused_as_unload(songs_table, prefix):
    """The provider's RedshiftToS3Operator sends UNLOAD, which the emulator refuses with 0A000."""
    from airflow.providers.amazon.aws.transfers.redshift_to_s3 import RedshiftToS3Operator

    unload_songs = RedshiftToS3Operator(
        task_id="unload_songs", redshift_conn_id=REDSHIFT, schema="public", table=TABLE, s3_bucket=BUCKET, s3_key=prefix
    )
    with pytest.raises(Exception, match="UNLOAD is not supported by the local Redshift emulator") as raised:
        unload_songs.execute(hour_context())
    assert "0A000" in str(raised.value)


# ---------------------------------------------------------------- credentials


@pytest.fixture
def known_secret(monkeypatch, settings) -> str:
    """aws_default with a secret key new for this test (moto accepts any key)."""
    secret = f"s3cr3t-{uuid.uuid4().hex}"
    connection = {"conn_type": "aws", "login": KNOWN_KEY, "password": secret, "extra": settings.aws_conn["extra"]}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    return secret


KNOWN_KEY = "TESTPROVIDERKEY00001"
DAG_FILE = """
from datetime import datetime, timezone

from airflow.providers.amazon.aws.transfers.s3_to_redshift import S3ToRedshiftOperator
from airflow.sdk import DAG

with DAG("provider_s3_to_redshift", schedule=None, start_date=datetime(2018, 11, 1, tzinfo=timezone.utc)) as dag:
    S3ToRedshiftOperator(
        task_id="load_songs", redshift_conn_id={conn!r}, table={table!r}, s3_bucket={bucket!r}, s3_key={key!r},
        copy_options={options!r},
    )
"""


@pytest.fixture
def provider_dag(monkeypatch, tmp_path, airflow_db, prefix):
    """A DAG file with one S3ToRedshiftOperator task, in a DAG bundle of its own beside the project's
    dags folder (dag.test() runs only DAGs that a bundle holds)."""
    folder = tmp_path / "provider_dags"
    folder.mkdir()
    path = folder / "provider_s3_to_redshift.py"
    key = prefix + "plain/song_data/"
    path.write_text(DAG_FILE.format(conn=REDSHIFT, table=TABLE, bucket=BUCKET, key=key, options=JSON_OPTIONS))
    local = "airflow.dag_processing.bundles.local.LocalDagBundle"
    bundles = [
        {"name": "dags-folder", "classpath": local, "kwargs": {}},
        {"name": "provider-tests", "classpath": local, "kwargs": {"path": str(folder), "refresh_interval": 0}},
    ]
    monkeypatch.setenv("AIRFLOW__DAG_PROCESSOR__DAG_BUNDLE_CONFIG_LIST", json.dumps(bundles))
    spec = importlib.util.spec_from_file_location("provider_s3_to_redshift", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.dag


def run_provider_dag(dag, capfd) -> str:
    """One in-process run of `dag` (dag.test(), as the local stack runs DAGs); returns its output."""
    from local_stack.airflow_runner import in_process_run

    capfd.readouterr()
    run = in_process_run(dag, datetime(2018, 11, 15, tzinfo=timezone.utc), None)
    out, err = capfd.readouterr()
    assert str(getattr(run.state, "value", run.state)) == "success", (out + err)[-3000:]
    return out + err


def test_the_copy_carries_the_connections_keys_and_the_statement_log_masks_the_secret(
    songs_table, plain_songs, prefix, known_secret, provider_dag, stack, capfd
):
    """The provider sends `credentials 'aws_access_key_id=…;aws_secret_access_key=…'` built from
    aws_default (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html).
    Run as a task, the COPY loads with those keys; the emulator's statement log masks the secret."""
    statements = StatementLog(stack)
    output = run_provider_dag(provider_dag, capfd)
    assert table_rows(songs_table) == expected_rows(plain_songs)
    assert f"aws_access_key_id={KNOWN_KEY};aws_secret_access_key=" in output, output[-3000:]  # what was sent
    logged = "\n".join(statements.lines())
    assert f"COPY {TABLE} FROM s3://{BUCKET}/{prefix}plain/song_data/" in logged, logged[-2000:]
    assert known_secret not in logged


def test_the_task_output_does_not_show_the_secret(songs_table, plain_songs, prefix, known_secret, provider_dag, capfd):
    """The hook logs every statement it runs ("Running statement: COPY … credentials '…'"); Airflow
    masks a connection's password in task logs, so the secret must not appear in the run's output."""
    output = run_provider_dag(provider_dag, capfd)
    assert "Running statement" in output and f"aws_access_key_id={KNOWN_KEY}" in output, output[-3000:]
    assert known_secret not in output


def test_a_session_token_is_sent_as_token_and_not_logged(
    songs_table, plain_songs, prefix, monkeypatch, settings, stack
):
    """With a session token in aws_default, the credentials string ends with `;token=<token>`
    (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html): the COPY
    loads, and the emulator's statement log shows neither the secret nor the token."""
    secret, token = f"s3cr3t-{uuid.uuid4().hex}", f"t0ken-{uuid.uuid4().hex}"
    extra = {**settings.aws_conn["extra"], "aws_session_token": token}
    connection = {"conn_type": "aws", "login": KNOWN_KEY, "password": secret, "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps(connection))
    statements = StatementLog(stack)
    s3_to_redshift(prefix + "plain/song_data/", "APPEND", JSON_OPTIONS)
    assert table_rows(songs_table) == expected_rows(plain_songs)
    logged = "\n".join(statements.lines())
    assert f"COPY {TABLE} FROM s3://{BUCKET}/{prefix}plain/song_data/" in logged, logged[-2000:]
    assert secret not in logged and token not in logged


def test_a_connection_with_a_role_arn_sends_aws_iam_role_and_region(
    songs_table, plain_songs, prefix, monkeypatch, settings
):
    """With `role_arn` (and `region`) in the AWS connection's extra, the provider sends
    `credentials 'aws_iam_role=<arn>'` and `region '<region>'`: the emulator loads the files
    (it reads S3 with the local stack's keys, as it cannot assume a role)."""
    extra = {
        **settings.aws_conn["extra"],
        "role_arn": "arn:aws:iam::123456789012:role/sparkify-copy",
        "region": "us-west-2",
    }
    monkeypatch.setenv("AIRFLOW_CONN_PROVIDER_ROLE", json.dumps({"conn_type": "aws", "extra": extra}))
    s3_to_redshift(prefix + "plain/song_data/", "APPEND", JSON_OPTIONS, aws_conn_id="provider_role")
    assert table_rows(songs_table) == expected_rows(plain_songs)


# ---------------------------------------------------------------- RedshiftSQLHook


def test_get_table_primary_key_reads_declared_keys(songs_table):
    """The hook reads information_schema.table_constraints and key_column_usage, where Redshift
    lists the declared (unenforced) keys.
    https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html"""
    songs_table.execute("DROP TABLE IF EXISTS prov_plays")
    songs_table.execute("DROP TABLE IF EXISTS prov_nokey")
    songs_table.execute(
        "CREATE TABLE prov_plays (session_id INTEGER NOT NULL, item INTEGER NOT NULL, song_id VARCHAR(18), "
        "PRIMARY KEY (session_id, item), FOREIGN KEY (song_id) REFERENCES prov_songs (song_id)) DISTKEY (song_id)"
    )
    songs_table.execute("CREATE TABLE prov_nokey (song_id VARCHAR(18) UNIQUE)")
    try:
        hook = RedshiftSQLHook(redshift_conn_id=REDSHIFT)
        assert hook.get_table_primary_key(TABLE) == ["song_id"]
        assert hook.get_table_primary_key(TABLE, "public") == ["song_id"]
        assert sorted(hook.get_table_primary_key("prov_plays") or []) == ["item", "session_id"]
        assert hook.get_table_primary_key("prov_nokey") is None  # a UNIQUE key is no primary key
        assert hook.get_table_primary_key(TABLE, "no_such_schema") is None
    finally:
        songs_table.execute("DROP TABLE IF EXISTS prov_plays")
        songs_table.execute("DROP TABLE IF EXISTS prov_nokey")


# ---------------------------------------------------------------- common-sql operators


@pytest.fixture
def loaded(songs_table, plain_songs, prefix) -> Counter[Row]:
    """prov_songs loaded by the provider's operator from the song files; returns its expected rows."""
    s3_to_redshift(prefix + "plain/song_data/", "APPEND", JSON_OPTIONS)
    return expected_rows(plain_songs)


@pytest.fixture
def loaded_without_key(songs_table, plain_songs, prefix) -> Counter[Row]:
    """`loaded`, into a prov_songs that declares no key: common-sql's checks count DISTINCT values, and over
    a declared key Redshift's planner may count every row (test_distinct_checks_...declared_key)."""
    songs_table.execute(f"DROP TABLE {TABLE}")
    songs_table.execute(SONGS_DDL.replace(",\n    PRIMARY KEY (song_id)", ""))
    s3_to_redshift(prefix + "plain/song_data/", "APPEND", JSON_OPTIONS)
    return expected_rows(plain_songs)


def test_sql_execute_query_operator_runs_redshift_sql(loaded, db):
    """SQLExecuteQueryOperator on the `redshift` connection: Redshift DDL and functions (NVL, GETDATE),
    split into statements and run in one session; the last statement's rows are returned.
    https://docs.aws.amazon.com/redshift/latest/dg/r_NVL_function.html
    https://docs.aws.amazon.com/redshift/latest/dg/r_GETDATE.html"""
    per_artist = SQLExecuteQueryOperator(
        task_id="per_artist",
        conn_id=REDSHIFT,
        sql=f"""
            DROP TABLE IF EXISTS prov_artists;
            CREATE TABLE prov_artists (artist_id VARCHAR(18) NOT NULL, songs BIGINT, latest INTEGER,
                loaded_at TIMESTAMP, PRIMARY KEY (artist_id)) DISTSTYLE ALL SORTKEY (artist_id);
            INSERT INTO prov_artists
                SELECT artist_id, COUNT(*), NVL(MAX(NULLIF(year, 0)), -1), GETDATE() FROM {TABLE} GROUP BY artist_id;
            SELECT artist_id, songs, latest FROM prov_artists ORDER BY artist_id;
        """,
        split_statements=True,
        return_last=True,
    )
    try:
        result = per_artist.execute(hour_context())
        expected: dict[str, list[int]] = {}
        for row, count in loaded.items():
            artist, year = row[COLUMNS.index("artist_id")], row[COLUMNS.index("year")]
            songs, latest = expected.get(artist, [0, -1])
            expected[artist] = [songs + count, max(latest, year or -1)]
        assert [tuple(r) for r in result] == [(a, *expected[a]) for a in sorted(expected)]
        assert db.execute("SELECT COUNT(*) FROM prov_artists WHERE loaded_at IS NULL").fetchone()[0] == 0
    finally:
        db.execute("DROP TABLE IF EXISTS prov_artists")


def song_column_checks(loaded: Counter[Row], unique_violations: int) -> dict[str, dict[str, Any]]:
    durations = [row[COLUMNS.index("duration")] for row in loaded]
    return {
        "song_id": {
            "null_check": {"equal_to": 0},
            "distinct_check": {"equal_to": len(loaded)},
            "unique_check": {"equal_to": unique_violations},
        },
        "duration": {"min": {"equal_to": min(durations)}, "max": {"leq_to": max(durations)}},
    }


def test_column_check_operator_passes_on_the_loaded_table(loaded_without_key):
    """The loaded table holds each distinct song once, but the duplicate twice: unique_check counts 1."""
    loaded = loaded_without_key
    duplicates = sum(loaded.values()) - len(loaded)
    assert duplicates == 1
    column_checks = SQLColumnCheckOperator(
        task_id="column_checks", conn_id=REDSHIFT, table=TABLE, column_mapping=song_column_checks(loaded, duplicates)
    )
    column_checks.execute(hour_context())
    assert column_checks.column_mapping["song_id"]["unique_check"]["result"] == 1


def test_column_check_operator_fails_on_the_duplicate(loaded_without_key):
    """Expecting song_id to be unique fails: Redshift loaded the duplicate."""
    loaded = loaded_without_key
    column_checks = SQLColumnCheckOperator(
        task_id="column_checks", conn_id=REDSHIFT, table=TABLE, column_mapping=song_column_checks(loaded, 0)
    )
    with pytest.raises(Exception, match="unique_check"):
        column_checks.execute(hour_context())


def test_table_check_operator_passes_on_the_loaded_table(loaded_without_key):
    loaded = loaded_without_key
    rows = sum(loaded.values())
    first = min(row[COLUMNS.index("first_played")] for row in loaded)
    table_checks = SQLTableCheckOperator(
        task_id="table_checks",
        conn_id=REDSHIFT,
        table=TABLE,
        checks={
            "row_count": {"check_statement": f"COUNT(*) = {rows}"},
            "distinct_songs": {"check_statement": f"COUNT(DISTINCT song_id) = {len(loaded)}"},
            "played_after_first": {"check_statement": f"first_played >= '{first:%Y-%m-%d %H:%M:%S.%f}'"},
        },
    )
    table_checks.execute(hour_context())
    assert {name: check["success"] for name, check in table_checks.checks.items()} == {
        "row_count": True,
        "distinct_songs": True,
        "played_after_first": True,
    }


def test_table_check_operator_fails_on_the_duplicate(loaded_without_key):
    loaded = loaded_without_key
    table_checks = SQLTableCheckOperator(
        task_id="table_checks",
        conn_id=REDSHIFT,
        table=TABLE,
        checks={
            "row_count": {"check_statement": f"COUNT(*) = {sum(loaded.values())}"},
            "one_row_per_song": {"check_statement": "COUNT(*) = COUNT(DISTINCT song_id)"},
        },
    )
    with pytest.raises(Exception, match="one_row_per_song"):
        table_checks.execute(hour_context())
    assert table_checks.checks["row_count"]["success"] is True
    assert table_checks.checks["one_row_per_song"]["success"] is False


def test_distinct_checks_do_not_see_the_duplicate_of_a_declared_key(loaded):
    """Redshift does not enforce prov_songs' PRIMARY KEY (song_id), but its planner trusts it: "a SELECT
    DISTINCT query might return duplicate rows if the primary key is not unique"
    (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html). The emulator does too, so
    the duplicate counts as a distinct song and common-sql's unique_check passes: the project's own
    unique_check numbers rows instead (docs/data-quality.md)."""
    rows = sum(loaded.values())
    assert rows - len(loaded) == 1
    column_checks = SQLColumnCheckOperator(
        task_id="column_checks",
        conn_id=REDSHIFT,
        table=TABLE,
        column_mapping={"song_id": {"unique_check": {"equal_to": 0}, "distinct_check": {"equal_to": rows}}},
    )
    column_checks.execute(hour_context())
    assert column_checks.column_mapping["song_id"]["unique_check"]["result"] == 0
