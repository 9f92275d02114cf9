"""The local `redshift-data` endpoint (local_stack.redshift_data), driven by boto3 and by the Amazon provider's hook.

Each test calls the API as a client of Amazon's would, and checks what it answers against the API
reference and against the warehouse itself, read through the emulator with psycopg:
https://docs.aws.amazon.com/redshift-data/latest/APIReference/Welcome.html
"""

from __future__ import annotations

import json
import time
import uuid

import boto3
import psycopg
import pytest
from botocore.exceptions import ClientError

from local_stack.redshift_data import DataApiServer
from local_stack.redshift_data.server import DEFAULT_CLUSTER, DEFAULT_WORKGROUP
from local_stack.warehouse_server import WarehouseServer
from tests.support import put_objects

pytestmark = pytest.mark.integration

PAGE_ROWS = 2  # a small page, so that a few rows already need NextToken
CREDENTIALS = {"aws_access_key_id": "local-data-api-test", "aws_secret_access_key": "local-data-api-test"}
TERMINAL = {"FINISHED", "FAILED", "ABORTED"}
BUCKET = "sparkify-data-api-tests"
KEYS = "ACCESS_KEY_ID 'data-api-test-key' SECRET_ACCESS_KEY 'data-api-test-secret-value'"


@pytest.fixture(scope="module")
def data_api(stack):
    server = DataApiServer(WarehouseServer(stack).dsn(), page_rows=PAGE_ROWS)
    server.start()
    yield server
    server.stop()


def client_for(server: DataApiServer):
    return boto3.client("redshift-data", endpoint_url=server.endpoint_url, region_name="us-west-2", **CREDENTIALS)


@pytest.fixture(scope="module")
def client(data_api):
    return client_for(data_api)


@pytest.fixture(scope="module")
def target(stack):
    return {"Database": stack.warehouse_db, "WorkgroupName": DEFAULT_WORKGROUP}


@pytest.fixture
def table(db):
    """A fresh table's name, dropped afterwards."""
    name = f"data_api_{uuid.uuid4().hex[:8]}"
    yield name
    db.execute(f"DROP TABLE IF EXISTS {name}")


def wait(client, statement_id: str, timeout: float = 30) -> dict:
    """DescribeStatement until the statement has ended, as a caller polls it (API_DescribeStatement.html)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = client.describe_statement(Id=statement_id)
        if described["Status"] in TERMINAL:
            return described
        time.sleep(0.05)
    raise AssertionError(f"{statement_id} still {described['Status']} after {timeout}s")


def wait_for_status(client, statement_id: str, status: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while client.describe_statement(Id=statement_id)["Status"] != status:
        assert time.monotonic() < deadline, f"{statement_id} never reached {status}"
        time.sleep(0.05)


def error_code(error: pytest.ExceptionInfo[ClientError]) -> str:
    return error.value.response["Error"]["Code"]


# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html
# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_GetStatementResult.html
# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_Field.html
def test_a_query_runs_and_its_typed_rows_come_in_pages(client, target, db, table):
    rows = [
        (1, 10_000_000_000, 0.5, "12.50", "Björk", True, None),
        (2, -3, -1.25, "0.10", "O'Connor", False, "a note"),
        (3, 0, 3.0, "7.00", "", True, None),
        (4, 7, 1e10, "99999999.99", "Sigur Rós", False, None),
        (5, 9, 2.5, "1.00", "Múm", True, "x"),
    ]
    db.execute(
        f"CREATE TABLE {table} (id INTEGER, big BIGINT, ratio DOUBLE PRECISION, price DECIMAL(10,2),"
        " name VARCHAR(20), flag BOOLEAN, note VARCHAR(10))"
    )
    with db.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s, %s)", rows)
    sql = f"SELECT id, big, ratio, price, name, flag, note FROM {table} WHERE id >= :low ORDER BY id"

    started = client.execute_statement(Sql=sql, Parameters=[{"name": "low", "value": "2"}], **target)
    described = wait(client, started["Id"])

    wanted = [row for row in rows if row[0] >= 2]
    assert described["Status"] == "FINISHED"
    assert described["HasResultSet"] is True
    assert described["ResultRows"] == len(wanted)
    assert described["QueryString"] == sql
    assert described["Duration"] >= 0
    assert described["QueryParameters"] == [{"name": "low", "value": "2"}]
    pages, token = [], None
    while True:
        page = client.get_statement_result(Id=started["Id"], **({"NextToken": token} if token else {}))
        pages.append(page)
        token = page.get("NextToken")
        if not token:
            break
    assert [len(page["Records"]) for page in pages] == [2, 2]
    assert {page["TotalNumRows"] for page in pages} == {len(wanted)}
    columns = pages[0]["ColumnMetadata"]
    assert [c["name"] for c in columns] == ["id", "big", "ratio", "price", "name", "flag", "note"]
    assert [c["typeName"] for c in columns] == ["int4", "int8", "float8", "numeric", "varchar", "bool", "varchar"]
    assert (columns[3]["precision"], columns[3]["scale"]) == (10, 2)
    expected = [
        [
            {"longValue": i},
            {"longValue": big},
            {"doubleValue": ratio},
            {"stringValue": price},
            {"stringValue": name},
            {"booleanValue": flag},
            {"isNull": True} if note is None else {"stringValue": note},
        ]
        for i, big, ratio, price, name, flag, note in wanted
    ]
    assert [record for page in pages for record in page["Records"]] == expected


# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html
def test_a_failed_batch_leaves_no_effect_of_its_first_statement(client, target, db, table):
    db.execute(f"CREATE TABLE {table} (id INTEGER)")
    started = client.batch_execute_statement(
        Sqls=[f"INSERT INTO {table} VALUES (1), (2)", f"INSERT INTO {table}_missing VALUES (3)"], **target
    )
    described = wait(client, started["Id"])

    first, second = described["SubStatements"]
    assert described["Status"] == "FAILED"
    assert f"{table}_missing" in described["Error"]
    assert (first["Id"], second["Id"]) == (f"{started['Id']}:1", f"{started['Id']}:2")
    assert first["ResultRows"] == 2
    assert second["Status"] == "FAILED" and f"{table}_missing" in second["Error"]
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)


# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_SubStatementData.html
def test_sub_statements_report_their_own_rows_and_results(client, target, db, table):
    db.execute(f"CREATE TABLE {table} (id INTEGER, kind VARCHAR(5))")
    values = [(1, "a"), (2, "b"), (3, "a"), (4, "a")]
    kept = sorted(i for i, kind in values if kind == "a")
    started = client.batch_execute_statement(
        Sqls=[
            f"INSERT INTO {table} VALUES " + ", ".join(f"({i}, '{kind}')" for i, kind in values),
            f"DELETE FROM {table} WHERE kind <> 'a'",
            f"SELECT id FROM {table} ORDER BY id",
        ],
        StatementName="data-api-subs",
        **target,
    )
    described = wait(client, started["Id"])

    subs = described["SubStatements"]
    assert described["Status"] == "FINISHED"
    assert [s["Status"] for s in subs] == ["FINISHED"] * 3
    assert [s["ResultRows"] for s in subs] == [len(values), len(values) - len(kept), len(kept)]
    assert [s["HasResultSet"] for s in subs] == [False, False, True]
    assert described["HasResultSet"] is True
    result = client.get_statement_result(Id=subs[2]["Id"])
    token = result.get("NextToken")
    records = result["Records"] + (
        client.get_statement_result(Id=subs[2]["Id"], NextToken=token)["Records"] if token else []
    )
    assert [r[0]["longValue"] for r in records] == kept
    assert [row[0] for row in db.execute(f"SELECT id FROM {table} ORDER BY id")] == kept  # committed
    with pytest.raises(ClientError) as batch_result:
        client.get_statement_result(Id=started["Id"])
    assert error_code(batch_result) == "ValidationException"


# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_DescribeStatement.html (Status FAILED, Error)
def test_a_syntax_error_fails_the_statement_with_the_warehouses_error(client, target, warehouse_dsn):
    with psycopg.connect(warehouse_dsn, autocommit=True) as conn, pytest.raises(psycopg.errors.SyntaxError) as direct:
        conn.execute("SELEC 1")
    started = client.execute_statement(Sql="SELEC 1", **target)
    described = wait(client, started["Id"])

    assert described["Status"] == "FAILED"
    assert described["Error"] == f"ERROR: {direct.value.diag.message_primary}"
    assert described["HasResultSet"] is False
    with pytest.raises(ClientError) as no_result:
        client.get_statement_result(Id=started["Id"])
    assert error_code(no_result) == "ValidationException"


# https://docs.aws.amazon.com/redshift-data/latest/APIReference/CommonErrors.html
def test_an_unknown_statement_id_is_not_found(client):
    unknown = str(uuid.uuid4())
    for call in (client.describe_statement, client.get_statement_result, client.cancel_statement):
        with pytest.raises(ClientError) as error:
            call(Id=unknown)
        assert error_code(error) == "ResourceNotFoundException"
        assert error.value.response["Error"]["Message"] == f"Query {unknown} does not exist."


@pytest.mark.parametrize(
    "arguments",
    [
        {"WorkgroupName": DEFAULT_WORKGROUP},  # no Database
        {"Database": "dev"},  # no workgroup, cluster or secret
        {"Database": "dev", "ClusterIdentifier": DEFAULT_CLUSTER},  # a cluster without DbUser or SecretArn
        {"Database": "dev", "ClusterIdentifier": DEFAULT_CLUSTER, "WorkgroupName": DEFAULT_WORKGROUP, "DbUser": "x"},
        {"Database": "dev", "WorkgroupName": "no-such-workgroup"},
        {"Database": "dev", "SecretArn": "not-an-arn"},
    ],
)
def test_a_request_without_a_database_or_target_is_invalid(client, arguments):
    with pytest.raises(ClientError) as error:
        client.execute_statement(Sql="SELECT 1", **arguments)
    assert error_code(error) == "ValidationException"


def test_a_cluster_with_its_db_user_or_a_secret_is_a_target(client, stack):
    arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:sparkify-local-AbCdEf"
    targets = [
        {"ClusterIdentifier": DEFAULT_CLUSTER, "DbUser": stack.warehouse_user},
        {"SecretArn": arn},
        {"ClusterIdentifier": DEFAULT_CLUSTER, "SecretArn": arn},
    ]
    for named in targets:
        started = client.execute_statement(Sql="SELECT current_user", Database=stack.warehouse_db, **named)
        assert wait(client, started["Id"])["Status"] == "FINISHED"
        rows = client.get_statement_result(Id=started["Id"])["Records"]
        assert rows == [[{"stringValue": stack.warehouse_user}]]


# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_CancelStatement.html
# A statement waits for a table another session has locked: https://docs.aws.amazon.com/redshift/latest/dg/r_LOCK.html
def test_a_waiting_statement_can_be_cancelled(client, target, db, table):
    db.execute(f"CREATE TABLE {table} (id INTEGER)")
    with db.transaction():
        db.execute(f"LOCK {table}")
        started = client.execute_statement(Sql=f"SELECT count(*) FROM {table}", **target)
        wait_for_status(client, started["Id"], "STARTED")
        time.sleep(0.5)
        assert client.describe_statement(Id=started["Id"])["Status"] == "STARTED"  # waiting for the lock

        assert client.cancel_statement(Id=started["Id"])["Status"] is True
        described = wait(client, started["Id"])
    assert described["Status"] == "ABORTED"
    with pytest.raises(ClientError) as again:
        client.cancel_statement(Id=started["Id"])
    assert error_code(again) == "ValidationException"


# ActiveStatementsExceededException: https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html
def test_statements_beyond_the_limit_are_refused(stack, target, db, table):
    server = DataApiServer(WarehouseServer(stack).dsn(), max_active=1)
    server.start()
    try:
        limited = client_for(server)
        db.execute(f"CREATE TABLE {table} (id INTEGER)")
        with db.transaction():
            db.execute(f"LOCK {table}")
            waiting = limited.execute_statement(Sql=f"SELECT count(*) FROM {table}", **target)
            with pytest.raises(ClientError) as refused:
                limited.execute_statement(Sql="SELECT 1", **target)
            limited.cancel_statement(Id=waiting["Id"])
            assert wait(limited, waiting["Id"])["Status"] == "ABORTED"
        assert error_code(refused) == "ActiveStatementsExceededException"
        after = limited.execute_statement(Sql="SELECT 1", **target)  # a slot again once it ended
        assert wait(limited, after["Id"])["Status"] == "FINISHED"
    finally:
        server.stop()


# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ListStatements.html
def test_list_statements_shows_single_and_batch_statements(client, target):
    prefix = f"data-api-list-{uuid.uuid4().hex[:6]}"
    single = client.execute_statement(Sql="SELECT 1", StatementName=f"{prefix}-one", **target)
    batch = client.batch_execute_statement(Sqls=["SELECT 1", "SELECT 2"], StatementName=f"{prefix}-two", **target)
    wait(client, single["Id"])
    wait(client, batch["Id"])

    listed = client.list_statements(StatementName=prefix)["Statements"]
    assert [s["Id"] for s in listed] == [batch["Id"], single["Id"]]  # newest first
    assert listed[0]["IsBatchStatement"] is True and listed[0]["QueryStrings"] == ["SELECT 1", "SELECT 2"]
    assert listed[1]["IsBatchStatement"] is False and listed[1]["QueryString"] == "SELECT 1"
    assert {s["Status"] for s in listed} == {"FINISHED"}
    first_page = client.list_statements(StatementName=prefix, MaxResults=1)
    assert [s["Id"] for s in first_page["Statements"]] == [batch["Id"]]
    second_page = client.list_statements(StatementName=prefix, MaxResults=1, NextToken=first_page["NextToken"])
    assert [s["Id"] for s in second_page["Statements"]] == [single["Id"]]
    assert "NextToken" not in second_page
    assert client.list_statements(StatementName=prefix, Status="FAILED")["Statements"] == []


@pytest.fixture
def provider_connection(data_api, monkeypatch) -> str:
    """An Airflow AWS connection (from the environment) whose extra points the provider at the local endpoint."""
    connection = {
        "conn_type": "aws",
        "login": CREDENTIALS["aws_access_key_id"],
        "password": CREDENTIALS["aws_secret_access_key"],
        "extra": {"endpoint_url": data_api.endpoint_url, "region_name": "us-west-2"},
    }
    monkeypatch.setenv("AIRFLOW_CONN_LOCAL_DATA_API", json.dumps(connection))
    return "local_data_api"


# The provider's own client, unmodified: RedshiftDataHook through an AWS connection whose extra names the endpoint.
# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_ExecuteStatement.html
def test_the_providers_hook_runs_a_query_and_reads_its_rows(provider_connection, stack, db, table):
    from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataHook

    names = ["Björk", "Múm", "Sigur Rós"]
    db.execute(f"CREATE TABLE {table} (name VARCHAR(20))")
    with db.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} VALUES (%s)", [(n,) for n in names])
    hook = RedshiftDataHook(aws_conn_id=provider_connection)

    output = hook.execute_query(
        sql=f"SELECT name FROM {table} ORDER BY name",
        database=stack.warehouse_db,
        workgroup_name=DEFAULT_WORKGROUP,
        poll_interval=1,
    )
    rows, token = [], None
    while True:
        page = hook.conn.get_statement_result(Id=output.statement_id, **({"NextToken": token} if token else {}))
        rows += [record[0]["stringValue"] for record in page["Records"]]
        token = page.get("NextToken")
        if not token:
            break
    assert rows == sorted(names)


# The provider's operator, executed as a worker would run it (synchronously), returning the statement's result.
def test_the_providers_operator_returns_a_querys_rows(provider_connection, stack):
    from airflow.providers.amazon.aws.operators.redshift_data import RedshiftDataOperator

    data_api_query = RedshiftDataOperator(
        task_id="data_api_query",
        sql="SELECT 6 * 7 AS answer, 'forty-two' AS spelled",
        database=stack.warehouse_db,
        workgroup_name=DEFAULT_WORKGROUP,
        aws_conn_id=provider_connection,
        return_sql_result=True,
        poll_interval=1,
        deferrable=False,
        durable=False,
    )

    (result,) = data_api_query.execute({})

    assert result["Records"] == [[{"longValue": 42}, {"stringValue": "forty-two"}]]
    assert [c["name"] for c in result["ColumnMetadata"]] == ["answer", "spelled"]


# ExecutionMode AUTO_COMMIT: each statement commits on its own, so a later failure keeps the earlier rows.
# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_BatchExecuteStatement.html
def test_an_auto_commit_batch_keeps_what_ran_before_a_failure(client, target, db, table):
    db.execute(f"CREATE TABLE {table} (id INTEGER)")
    started = client.batch_execute_statement(
        Sqls=[f"INSERT INTO {table} VALUES (1)", "SELEC 2", f"INSERT INTO {table} VALUES (3)"],
        ExecutionMode="AUTO_COMMIT",
        **target,
    )
    described = wait(client, started["Id"])

    assert described["Status"] == "FAILED"
    assert [s["Status"] for s in described["SubStatements"]] == ["FINISHED", "FAILED", "ABORTED"]
    assert [row[0] for row in db.execute(f"SELECT id FROM {table}")] == [1]


def test_execute_statement_runs_one_statement_only(client, target, db, table):
    db.execute(f"CREATE TABLE {table} (id INTEGER)")
    started = client.execute_statement(Sql=f"INSERT INTO {table} VALUES (1); INSERT INTO {table} VALUES (2)", **target)
    described = wait(client, started["Id"])

    assert described["Status"] == "FAILED"
    assert "multiple commands" in described["Error"]
    assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    trailing = client.execute_statement(Sql=f"INSERT INTO {table} VALUES (1);", **target)
    assert wait(client, trailing["Id"])["ResultRows"] == 1


def test_a_login_failure_does_not_show_the_password(stack):
    wrong = "wrong-password-data-api-7f3a"
    server = DataApiServer(psycopg.conninfo.make_conninfo(WarehouseServer(stack).dsn(), password=wrong))
    server.start()
    try:
        api = client_for(server)
        started = api.execute_statement(Sql="SELECT 1", Database=stack.warehouse_db, WorkgroupName=DEFAULT_WORKGROUP)
        described = wait(api, started["Id"])
        listed = api.list_statements()
    finally:
        server.stop()
    assert described["Status"] == "FAILED"
    assert "password authentication failed" in described["Error"]
    assert wrong not in json.dumps([described, listed], default=str)


# Named parameters (`:name`) are bound wherever they stand outside literals; `::` casts and `%` stay SQL.
# https://docs.aws.amazon.com/redshift-data/latest/APIReference/API_SqlParameter.html
def test_named_parameters_are_bound_outside_literals_and_casts(client, target):
    sql = "SELECT :n::integer + 1 AS next, ':n' AS literal, 'a%' || :word AS joined, 7 % 4 AS rest"
    started = client.execute_statement(
        Sql=sql, Parameters=[{"name": "n", "value": "41"}, {"name": "word", "value": "b"}], **target
    )
    assert wait(client, started["Id"])["Status"] == "FINISHED"
    assert client.get_statement_result(Id=started["Id"])["Records"] == [
        [{"longValue": 42}, {"stringValue": ":n"}, {"stringValue": "a%b"}, {"longValue": 3}]
    ]
    for parameters in (
        [{"name": "n", "value": "1"}],
        [{"name": "n", "value": "1"}, {"name": "word", "value": "b"}, {"name": "other", "value": "x"}],
    ):
        with pytest.raises(ClientError) as unbound:
            client.execute_statement(Sql=sql, Parameters=parameters, **target)
        assert error_code(unbound) == "ValidationException"


# The project's load pattern over the API: a DELETE and its COPY in one batch, one transaction.
# https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html
# https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-format.html#copy-json
def test_a_copy_batch_counts_its_rows_and_a_failed_copy_undoes_its_delete(client, target, db, s3, table):
    good = [{"song_id": "SOA", "year": 1999}, {"song_id": "SOB", "year": 2001}, {"song_id": "SOC"}]
    put_objects(s3, BUCKET, {f"{table}/good/a.json": "".join(json.dumps(r) + "\n" for r in good)})
    put_objects(s3, BUCKET, {f"{table}/bad/a.json": json.dumps({"song_id": "SOX", "year": "not a year"}) + "\n"})
    db.execute(f"CREATE TABLE {table} (song_id VARCHAR(8), year INTEGER)")
    db.execute(f"INSERT INTO {table} VALUES ('SOOLD', 1980)")

    def load(prefix: str) -> dict:
        copy = f"COPY {table} FROM 's3://{BUCKET}/{table}/{prefix}/' {KEYS} FORMAT AS JSON 'auto'"
        started = client.batch_execute_statement(Sqls=[f"DELETE FROM {table}", copy], **target)
        return wait(client, started["Id"])

    loaded = load("good")
    assert loaded["Status"] == "FINISHED"
    assert [s["ResultRows"] for s in loaded["SubStatements"]] == [1, len(good)]
    expected = sorted((r["song_id"], r.get("year")) for r in good)
    assert db.execute(f"SELECT song_id, year FROM {table} ORDER BY 1").fetchall() == expected

    failed = load("bad")
    assert failed["Status"] == "FAILED"
    assert (
        failed["Error"]
        == f"ERROR: Load into table '{table}' failed.  Check 'stl_load_errors' system table for details."
    )
    assert db.execute(f"SELECT song_id, year FROM {table} ORDER BY 1").fetchall() == expected  # the DELETE undone
