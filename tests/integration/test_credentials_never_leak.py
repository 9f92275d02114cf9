"""AWS credentials never leak: not into task logs, rendered fields, XCom or exception messages.

The first test runs the real DAG, then sparkify_report, on the local stack with an AWS
connection whose key, secret and session token are known, then searches everything the runs
left behind for them: their stdout/stderr, every file under AIRFLOW_HOME (log files, the
metadata database), the rendered template fields, the XComs (the stored "Quality results" and
"Report" links among them) and the Redshift emulator's statement log. The others run the
COPY path through the emulator with redshift_connector, keeping the statements the driver was
given (so that the keys are known to have been sent), and once with a driver whose errors quote
the statement, as some drivers' errors do.
The last test sends a password and keys through the emulator in statements that succeed and
fail, then searches every file under the stack's state folder (PostgreSQL's data and server log
included) for every secret this module used, and checks that the stack's log files are 0600.
"""

from __future__ import annotations

import json
import logging
import os
import stat
import traceback
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import psycopg
import pytest
from airflow.sdk.exceptions import AirflowFailException

from local_stack.warehouse_server import WarehouseServer
from sparkify.operators.stage_to_redshift import StageToRedshiftOperator
from sparkify.pages.urls import URL_PREFIX
from sparkify.s3copy.redshift_copy import CopyFailed, copy_credentials, run_redshift_copy
from sparkify.s3copy.spec import CopyOptions, CopySpec, Credentials
from tests.support import PROJECT_ROOT, put_objects, reset_schema, task_context

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("keep_run_tables")]  # reads run tables after the run


ACCESS_KEY = "TESTKNOWNACCESSKEY00"
AWS_CONN_VAR = "AIRFLOW_CONN_AWS_DEFAULT"
REDACTED_KEYS = "ACCESS_KEY_ID *** SECRET_ACCESS_KEY *** SESSION_TOKEN ***"
BUCKET = "sparkify-credential-tests"
MISSING_BUCKET = "sparkify-credential-tests-no-such-bucket"
EVENTS_KEY = "log_data/2018/11/2018-11-15-events.json"
BAD_EVENTS_KEY = "log_data/2018/11/2018-11-16-events.json"
JSONPATHS_KEY = "log_json_path.json"
EVENT_COUNT = 5
ISSUED: dict[str, str] = {}  # every secret this module's tests sent: none may be in a file


@pytest.fixture
def credentials() -> dict[str, str]:
    """The known access key, and a secret key and session token new for every test."""
    found = {
        "access key": ACCESS_KEY,
        "secret key": f"s3cr3t-{uuid.uuid4().hex}",
        "session token": f"t0ken-{uuid.uuid4().hex}",
    }
    ISSUED.update({f"{name} #{len(ISSUED)}": value for name, value in found.items() if name != "access key"})
    return found


@pytest.fixture
def known_aws_connection(monkeypatch, settings, credentials) -> None:
    """`aws_default` with the local endpoint and region, but the known key, secret and session token."""
    extra = {**settings.aws_conn["extra"], "aws_session_token": credentials["session token"]}
    monkeypatch.setenv(
        AWS_CONN_VAR,
        json.dumps(
            {
                "conn_type": "aws",
                "login": credentials["access key"],
                "password": credentials["secret key"],
                "extra": extra,
            }
        ),
    )


@pytest.fixture
def copy_log() -> Iterator[list[str]]:
    """Messages logged by the Redshift COPY module (collected directly, so it works with `-p no:logging`)."""
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("sparkify.s3copy.redshift_copy")
    handler, level, disabled = Collect(logging.INFO), logger.level, logger.disabled
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.disabled = False
    yield messages
    logger.removeHandler(handler)
    logger.setLevel(level)
    logger.disabled = disabled


def leaked(text: str, credentials: dict[str, str]) -> list[str]:
    """The names of the credentials that occur in `text`."""
    return [name for name, value in credentials.items() if value in text]


def exception_chain(error: BaseException) -> Iterator[BaseException]:
    """`error` and every exception reachable from it, shown by tracebacks or not."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


# ------------------------------------------------------- a real DAG run on the local stack


def test_a_real_run_leaks_no_credentials(
    known_aws_connection, credentials, sparkify_dag, sample_data, db, stack, capfd
):
    """sparkify_etl, then sparkify_report on what it loaded: both write pages to S3 and store their links."""
    from airflow.dag_processing.dagbag import DagBag
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    from local_stack.airflow_runner import in_process_run

    reset_schema(db)
    capfd.readouterr()  # search only what these runs write
    run = in_process_run(sparkify_dag, datetime(2018, 11, 15, 12, tzinfo=timezone.utc), None)
    report_dag = DagBag(dag_folder=str(PROJECT_ROOT / "dags" / "sparkify_report.py")).dags["sparkify_report"]
    report_run = report_dag.test()
    out, err = capfd.readouterr()
    output = out + err

    assert str(getattr(run.state, "value", run.state)) == "success", output[-3000:]
    assert str(getattr(report_run.state, "value", report_run.state)) == "success", output[-3000:]
    # The search is not vacuous: the tasks' log lines were captured, the S3 hook took the known
    # key, secret and session token from the connection, and the stage tasks loaded rows with them.
    assert "Loaded" in output and "into staging_events" in output, output[-3000:]
    assert "credentials retrieved from login and password" in output
    assert "session token retrieved from extra" in output
    [(copy,)] = db.execute("SELECT table_name FROM staging_tables WHERE table_name LIKE 'staging_events%%'").fetchall()
    assert db.execute(f'SELECT COUNT(*) FROM "{copy}"').fetchone()[0] > 0

    assert not leaked(output, credentials), "credentials in the run's stdout/stderr"

    files = [path for path in Path(stack.airflow_home).rglob("*") if path.is_file()]
    assert any(path.name == "airflow.db" for path in files)
    for path in files:  # task log files, if any, and the metadata database itself
        found = leaked(_file_text(path), credentials)
        assert not found, f"{found} in {path}"

    rendered: dict[str, str] = {}
    xcoms: dict[tuple[str, str], str] = {}
    with create_session() as session:
        for one in (run, report_run):
            rendered |= {
                row.task_id: json.dumps(row.rendered_fields, default=str)
                for row in session.query(RenderedTaskInstanceFields).filter_by(dag_id=one.dag_id, run_id=one.run_id)
            }
            xcoms |= {
                (row.task_id, row.key): json.dumps(row.value, default=str)
                for row in session.query(XComModel).filter_by(dag_id=one.dag_id, run_id=one.run_id)
            }
    assert "aws_default" in rendered["stage_events"] and "aws_default" in rendered["stage_songs"]
    assert ("stage_events", "return_value") in xcoms
    # Both pages were written and both links stored, as Airflow's API server's route for them (sparkify.pages).
    assert xcoms[("run_quality_checks", "quality_results")].startswith('"s3://aws_default@')
    assert xcoms[("refresh_report", "return_value")].startswith('{"path": "s3://aws_default@')
    for task_id, link in (("run_quality_checks", "QualityResultsLink"), ("refresh_report", "ReportLink")):
        assert f"{URL_PREFIX}/pages/" in xcoms[(task_id, f"_link_{link}")], xcoms[(task_id, f"_link_{link}")]
    for task_id, fields in rendered.items():
        assert not leaked(fields, credentials), f"credentials in the rendered fields of {task_id}"
    for (task_id, key), value in xcoms.items():
        assert not leaked(value, credentials), f"credentials in XCom {key!r} of {task_id}"
    log = emulator_log(stack)
    # stage_events COPYs the day file into its cached copy (staged_object_cache), stage_songs into the run's table.
    assert "COPY staged_object_cache__o" in log and "COPY staging_songs" in log
    assert not leaked(log, credentials), "credentials in the emulator's statement log"


# ------------------------------------------------------- the COPY path, through the emulator


class SpyCursor:
    """A real redshift_connector cursor that keeps the statements it is given.

    With `echo`, a failed statement's error also quotes the statement, as some drivers' errors do
    (the emulator's own errors never carry credentials)."""

    def __init__(self, cursor, statements: list[str], echo: bool = False) -> None:
        self._cursor, self._statements, self._echo = cursor, statements, echo

    def execute(self, sql: str, *args):
        self._statements.append(sql)
        if not self._echo:
            return self._cursor.execute(sql, *args)
        failure = None
        try:
            return self._cursor.execute(sql, *args)
        except Exception as error:
            failure = f"{error} in statement: {sql}"
        raise Exception(failure)

    def __getattr__(self, name: str):
        return getattr(self._cursor, name)


class SpyConnection:
    """A real redshift_connector connection whose cursors are SpyCursors."""

    def __init__(self, conn, statements: list[str]) -> None:
        object.__setattr__(self, "_conn", conn)
        object.__setattr__(self, "_statements", statements)

    def cursor(self) -> SpyCursor:
        return SpyCursor(self._conn.cursor(), self._statements)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)

    def __setattr__(self, name: str, value) -> None:
        setattr(self._conn, name, value)


@pytest.fixture
def events(db, s3) -> None:
    """A fresh schema, and a day of events and a jsonpaths file in a bucket of this module's own."""
    reset_schema(db)
    put_objects(
        s3,
        BUCKET,
        {
            EVENTS_KEY: "".join(
                json.dumps({"artist": f"A{i}", "page": "NextSong", "sessionId": i}) + "\n" for i in range(EVENT_COUNT)
            ),
            BAD_EVENTS_KEY: json.dumps({"artist": "A", "page": "NextSong", "sessionId": "not a number"}) + "\n",
            JSONPATHS_KEY: json.dumps({"jsonpaths": [f"$['{c}']" for c in ("artist", "page", "sessionId")]}),
        },
    )


@pytest.fixture
def warehouse(stack, events) -> Iterator:
    """A redshift_connector connection to the emulator, as RedshiftSQLHook makes it."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    conn = RedshiftSQLHook(redshift_conn_id="redshift").get_conn()
    yield conn
    conn.rollback()
    conn.close()


@pytest.fixture
def spied_hook(monkeypatch) -> list[str]:
    """The statements the stage operator sends through its real RedshiftSQLHook connections."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    statements: list[str] = []
    get_conn = RedshiftSQLHook.get_conn
    monkeypatch.setattr(RedshiftSQLHook, "get_conn", lambda self: SpyConnection(get_conn(self), statements))
    return statements


def emulator_log(stack) -> str:
    """Everything the emulator's statement log holds (credentials are masked there)."""
    return WarehouseServer(stack).statement_log.read_text()


def key_credentials(credentials: dict[str, str]) -> Credentials:
    return Credentials(
        access_key=credentials["access key"],
        secret_key=credentials["secret key"],
        token=credentials["session token"],
    )


def copy_spec(bucket: str = BUCKET, key: str = EVENTS_KEY) -> CopySpec:
    return CopySpec(
        table="staging_events",
        bucket=bucket,
        keys=(key,),
        columns=("artist", "page", "sessionid"),
        options=CopyOptions(json_format=f"s3://{BUCKET}/{JSONPATHS_KEY}", region="us-west-2"),
    )


def stage_operator(bucket: str = BUCKET, **kwargs) -> StageToRedshiftOperator:
    return StageToRedshiftOperator(
        task_id="stage_events",
        table="staging_events",
        s3_bucket=bucket,
        s3_key="log_data/%Y/%m/%Y-%m-%d-events.json",
        copy_options={"json_format": f"s3://{BUCKET}/{JSONPATHS_KEY}"},
        column_list=("artist", "page", "sessionid"),
        aws_conn_id="aws_default",
        **kwargs,
    )


def test_a_redshift_copy_logs_its_statement_redacted(credentials, copy_log, warehouse, stack):
    statements: list[str] = []
    cursor = SpyCursor(warehouse.cursor(), statements)

    rows = run_redshift_copy(copy_spec(), cursor, key_credentials(credentials))

    assert rows == EVENT_COUNT
    sent = [sql for sql in statements if sql.startswith("COPY")]
    assert len(sent) == 1 and len(leaked(sent[0], credentials)) == 3, "the emulator gets the real keys"
    logged = [message for message in copy_log if "COPY" in message]
    assert len(logged) == 1 and REDACTED_KEYS in logged[0]
    assert not leaked("\n".join(copy_log), credentials)
    log = emulator_log(stack)
    assert f"COPY staging_events FROM s3://{BUCKET}/{EVENTS_KEY}" in log
    assert not leaked(log, credentials), "credentials in the emulator's statement log"


@pytest.mark.parametrize("echo", [False, True], ids=["emulator-error", "driver-echoes-the-statement"])
def test_a_failed_redshift_copy_names_no_credentials(credentials, copy_log, warehouse, stack, echo):
    statements: list[str] = []
    cursor = SpyCursor(warehouse.cursor(), statements, echo=echo)

    with pytest.raises(CopyFailed) as raised:
        run_redshift_copy(copy_spec(bucket=MISSING_BUCKET), cursor, key_credentials(credentials))

    assert len(leaked(statements[-1], credentials)) == 3, "the COPY sent carried the keys"
    message = str(raised.value)
    assert "NoSuchBucket" in message and not raised.value.data_error  # an S3 error: retries apply
    if echo:
        assert "SECRET_ACCESS_KEY '***'" in message, "the driver's error did quote the statement, redacted"
    assert not leaked(message, credentials)
    assert not leaked("".join(traceback.format_exception(raised.value)), credentials)
    for error in exception_chain(raised.value):
        assert not leaked(str(error), credentials), f"credentials in a chained {type(error).__name__}"
    assert not leaked("\n".join(copy_log), credentials)
    log = emulator_log(stack)
    assert f"COPY staging_events FROM s3://{MISSING_BUCKET}/" in log
    assert not leaked(log, credentials), "credentials in the emulator's statement log"


@pytest.mark.parametrize("outcome", ["copy-succeeds", "data-error", "s3-error"])
def test_the_stage_operator_leaks_no_credentials(
    outcome, known_aws_connection, credentials, events, spied_hook, copy_log, capfd, stack
):
    """The operator end to end: the `redshift` connection to the emulator, the real AWS connection."""
    bucket = {"s3-error": MISSING_BUCKET}.get(outcome, BUCKET)
    operator = stage_operator(bucket)
    # The window's day names EVENTS_KEY; for a data error, BAD_EVENTS_KEY.
    day = {"data-error": "2018-11-16"}.get(outcome, "2018-11-15")
    context = task_context(f"{day}T12:00:00Z", f"{day}T13:00:00Z")

    capfd.readouterr()
    if outcome == "copy-succeeds":
        assert operator.execute(context) == EVENT_COUNT
    else:
        expected = AirflowFailException if outcome == "data-error" else CopyFailed
        with pytest.raises(expected) as raised:
            operator.execute(context)
        assert type(raised.value) is expected
        assert not leaked("".join(traceback.format_exception(raised.value)), credentials)
        for error in exception_chain(raised.value):
            assert not leaked(str(error), credentials)
    out, err = capfd.readouterr()

    copies = [sql for sql in spied_hook if sql.startswith("COPY")]
    assert len(copies) == 1 and len(leaked(copies[0], credentials)) == 3
    assert any(REDACTED_KEYS in message for message in copy_log), "the COPY statement is logged, redacted"
    assert not leaked("\n".join(copy_log), credentials)
    if outcome == "data-error":
        assert f"s3://{BUCKET}/{BAD_EVENTS_KEY} line 1" in out, "the reject is in the task log"
    assert not leaked(out + err, credentials)
    assert not leaked(json.dumps({f: getattr(operator, f) for f in operator.template_fields}), credentials)
    log = emulator_log(stack)
    assert f"COPY staging_events FROM s3://{bucket}/log_data/" in log
    assert not leaked(log, credentials), "credentials in the emulator's statement log"


def test_copy_credentials_reads_keys_and_token_and_masks_them(known_aws_connection, credentials):
    from airflow.sdk._shared.secrets_masker import redact

    line = f"key {credentials['secret key']} token {credentials['session token']}"
    assert redact(line) == line  # nothing registered these fresh values yet

    found = copy_credentials("aws_default")

    assert found == key_credentials(credentials)
    assert found.sql(redacted=True) == REDACTED_KEYS
    assert not leaked(repr(found), credentials)
    assert redact(line) == "key *** token ***", "Airflow's secrets masker knows the secret and the token"


def test_copy_credentials_take_the_iam_role_parameter_over_a_role_arn_extra_else_the_keys(monkeypatch):
    role = "arn:aws:iam::123456789012:role/dwhRole"
    monkeypatch.setenv(
        AWS_CONN_VAR,
        json.dumps(
            {
                "conn_type": "aws",
                "login": ACCESS_KEY,
                "password": "s3cr3t",
                "extra": {"role_arn": "arn:aws:iam::123456789012:role/other"},
            }
        ),
    )

    found = copy_credentials("aws_default", role)
    assert found == Credentials(role_arn=role)
    assert found.sql() == f"IAM_ROLE '{role}'"
    monkeypatch.setenv(AWS_CONN_VAR, json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": "s3cr3t"}))
    without_role = copy_credentials("aws_default", " ")
    assert (without_role.role_arn, without_role.access_key) == (None, ACCESS_KEY)


def test_copy_credentials_refuse_a_malformed_role():
    with pytest.raises(ValueError, match=r"COPY's IAM role 'dwhRole' is not a role ARN"):
        copy_credentials("aws_default", "dwhRole")


def test_with_an_iam_role_the_stage_operator_makes_no_aws_call_of_its_own(monkeypatch, events, spied_hook, copy_log):
    """The role trusts only Redshift: the task must neither assume it nor need S3 access to COPY."""
    from airflow.providers.amazon.aws.hooks.base_aws import AwsGenericHook

    role = "arn:aws:iam::123456789012:role/dwhRole"

    def no_aws_call(*args, **kwargs):
        raise AssertionError("the task made an AWS call of its own")

    monkeypatch.setenv(AWS_CONN_VAR, json.dumps({"conn_type": "aws", "login": ACCESS_KEY, "password": "x"}))
    for method in ("get_conn", "get_session", "get_credentials"):
        monkeypatch.setattr(AwsGenericHook, method, no_aws_call)
    operator = stage_operator(iam_role=role)

    assert operator.execute(task_context("2018-11-15T12:00:00Z", "2018-11-15T13:00:00Z")) == EVENT_COUNT

    copies = [sql for sql in spied_hook if sql.startswith("COPY")]
    assert len(copies) == 1 and f"IAM_ROLE '{role}'" in copies[0] and "ACCESS_KEY_ID" not in copies[0]
    assert any(f"IAM_ROLE '{role}'" in message for message in copy_log)


def _file_bytes(path: Path) -> bytes:
    """A file's bytes (SQLite databases as their dump, see `_file_text`); b"" if it went away meanwhile."""
    try:
        if path.suffix == ".db" or path.name.endswith((".db-journal", ".db-wal", ".db-shm")):
            return _file_text(path).encode()
        return path.read_bytes()
    except FileNotFoundError:  # a file of PostgreSQL's that it removed while we searched
        return b""


def _file_text(path: Path) -> str:
    """A file's text; SQLite databases are dumped through SQLite, because opening and closing the
    file directly would drop this process's SQLite locks and let another writer corrupt it."""
    if path.suffix == ".db":
        import sqlite3

        with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
            return "\n".join(conn.iterdump())
    if path.name.endswith((".db-journal", ".db-wal", ".db-shm")):
        return ""  # SQLite's own files, covered by the dump above
    return path.read_bytes().decode("utf-8", errors="replace")


# ------------------------------------------------------- every file of the stack, after everything above


def test_no_file_of_the_stack_holds_a_secret(credentials, events, db, backend, stack):
    """Passwords and keys in statements that succeed and fail; then no file under the state folder has one.

    Redshift's syntax for the secrets: https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_USER.html,
    https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_USER.html (PASSWORD 'password' | 'md5hash')
    and https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html (ACCESS_KEY_ID,
    SECRET_ACCESS_KEY, SESSION_TOKEN, CREDENTIALS).
    """
    probe, missing = f"leak_probe_{uuid.uuid4().hex[:8]}", f"no_such_user_{uuid.uuid4().hex[:8]}"
    # Redshift's rules for a clear-text password: 8 to 64 characters, an upper and a lower case letter, a digit.
    passwords = {f"password {n}": f"Pw{uuid.uuid4().hex}{n}" for n in range(3)}
    secrets = {**passwords, **{k: v for k, v in credentials.items() if k != "access key"}}
    ISSUED.update({f"{name} (last test)": value for name, value in secrets.items()})
    keys = (
        f"ACCESS_KEY_ID '{credentials['access key']}' SECRET_ACCESS_KEY '{credentials['secret key']}' "
        f"SESSION_TOKEN '{credentials['session token']}'"
    )
    pairs = f"aws_access_key_id={credentials['access key']};aws_secret_access_key={credentials['secret key']}"
    options = f"FORMAT AS JSON 's3://{BUCKET}/{JSONPATHS_KEY}' REGION 'us-west-2'"
    columns = "staging_events (artist, page, sessionid)"

    # The client is no superuser, as a Redshift user made without CREATEUSER: refused, its password still redacted.
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        db.execute(f"CREATE USER {probe} PASSWORD '{passwords['password 0']}'")
    try:
        db.execute(f"COPY {columns} FROM 's3://{BUCKET}/{EVENTS_KEY}' {keys} {options}")
        db.execute(f"COPY {columns} FROM 's3://{BUCKET}/{EVENTS_KEY}' CREDENTIALS '{pairs}' {options}")
        assert db.execute("SELECT COUNT(*) FROM staging_events").fetchone()[0] == 2 * EVENT_COUNT
        failing = [
            f"COPY {columns} FROM 's3://{MISSING_BUCKET}/{EVENTS_KEY}' {keys} {options}",  # S3 error
            f"COPY {columns} FROM 's3://{BUCKET}/{BAD_EVENTS_KEY}' {keys} {options}",  # data error: stl_load_errors
            f"ALTER USER {missing} PASSWORD '{passwords['password 1']}'",  # no such user
        ]
        for sql in failing:
            with pytest.raises(psycopg.Error) as raised:
                db.execute(sql)
            assert not leaked(str(raised.value), secrets), (sql[:40], str(raised.value))
        # A syntax error quotes the text at the error back to the client that sent it (PostgreSQL's
        # message); the server's own log must not keep it.
        with pytest.raises(psycopg.errors.SyntaxError) as raised:
            db.execute(f"ALTER USER {probe} PASSWORD '{passwords['password 2']}' '{passwords['password 2']}'")
        assert passwords["password 2"] in str(raised.value)
        history = db.execute(
            "SELECT trim(querytxt) FROM stl_query WHERE querytxt LIKE %s OR querytxt LIKE %s ORDER BY query",
            (f"%{probe}%", f"%{MISSING_BUCKET}%"),
        ).fetchall()
        reasons = db.execute("SELECT trim(raw_line) || trim(err_reason) || trim(filename) FROM stl_load_errors")
        load_errors = "\n".join(row[0] for row in reasons.fetchall())
    finally:
        pass  # no user was made: the client may not CREATE USER
    backend.execute("CHECKPOINT")  # PostgreSQL's data files hold what its tables hold

    # The statements reached the places searched below, masked:
    assert f"CREATE USER {probe} PASSWORD '***'" in [row[0] for row in history]
    assert f"{BAD_EVENTS_KEY}" in load_errors
    log = emulator_log(stack)
    assert f"CREATE USER {probe} PASSWORD '***'" in log and f"ALTER USER {missing} PASSWORD '***'" in log
    assert f"ALTER USER {probe} PASSWORD '***'" in log
    masked_keys = "ACCESS_KEY_ID '***' SECRET_ACCESS_KEY '***' SESSION_TOKEN '***'"
    assert failing[0].replace(keys, masked_keys) in [row[0] for row in history]
    assert not leaked("\n".join(row[0] for row in history), secrets)
    warehouse = WarehouseServer(stack)
    assert "ready to accept connections" in warehouse.log_file.read_text(errors="replace")
    # With PostgreSQL's defaults the failed ALTER USERs would be in its log: the ERROR (log_min_messages
    # is warning), its statement (log_min_error_statement is error). The stack's server logs neither:
    # https://www.postgresql.org/docs/current/runtime-config-logging.html (LOG ranks above ERROR there).
    shown = [backend.execute(f"SHOW {name}").fetchone()[0] for name in ("log_min_messages", "log_min_error_statement")]
    assert shown == ["log", "panic"]
    assert not leaked(load_errors, secrets)

    roots = {stack.state_dir, warehouse.home}  # the warehouse's folder is elsewhere when the state folder is private
    files = sorted({path for root in roots for path in root.rglob("*") if path.is_file() and not path.is_symlink()})
    assert warehouse.log_file in files and warehouse.statement_log in files
    assert any(path.name == "PG_VERSION" for path in files), "PostgreSQL's data folder is searched"
    wanted = {name: value.encode() for name, value in ISSUED.items()}
    for path in files:
        data = _file_bytes(path)
        found = [name for name, value in wanted.items() if value in data]
        assert not found, f"{found} in {path}"

    logs = [warehouse.statement_log, warehouse.emulator_log, warehouse.log_file, stack.state_dir / "s3" / "moto.log"]
    for path in logs:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600, f"{path} is {oct(os.stat(path).st_mode)}"
    for folder in (warehouse.emulator_dir, stack.state_dir / "s3"):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, f"{folder} is {oct(os.stat(folder).st_mode)}"
