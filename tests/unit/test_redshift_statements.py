"""The Redshift emulator's statement handling: parse_copy, redact and rewrite_ddl (pure functions, no services)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from local_stack.redshift.statements import StatementError, parse_copy, redact, rewrite_ddl
from sparkify.ddl import split_statements
from sparkify.s3copy import spec as production
from sparkify.s3copy.spec import CopyOptions, Credentials
from tests.support import SQL_DIR

ROLE_ARN = "arn:aws:iam::123456789012:role/dwhRole"
ACCESS_KEY = "TESTEXAMPLEACCESSKEY"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN+abc/def=="
SECRETS = (ACCESS_KEY, SECRET_KEY, TOKEN)
KEYS = f"ACCESS_KEY_ID '{ACCESS_KEY}' SECRET_ACCESS_KEY '{SECRET_KEY}'"
SOURCE = "s3://udacity-dend/log_data"


def copy(options: str, head: str = f"COPY staging_events FROM '{SOURCE}'") -> str:
    return f"{head} {options}"


def reject(sql: str, sqlstate: str) -> StatementError:
    with pytest.raises(StatementError) as caught:
        parse_copy(sql)
    assert caught.value.sqlstate == sqlstate, caught.value.message
    for secret in SECRETS:
        assert secret not in str(caught.value)
    return caught.value


# --- round trip: the SQL the production operator renders parses back to the same model --------------------
# The emulator parses into the product's own CopyOptions and Credentials (sparkify.s3copy.spec), so the
# parsed model must equal the one the SQL was rendered from, field for field and type for type.

OPTION_MATRIX = [
    production.CopyOptions(),
    production.CopyOptions(json_format="auto ignorecase"),
    production.CopyOptions(json_format="s3://udacity-dend/log_json_path.json"),
    production.CopyOptions(manifest=True, compression="gzip"),
    production.CopyOptions(compression="bzip2", region="us-west-2"),
    production.CopyOptions(compression="zstd", timeformat="epochmillisecs"),
    production.CopyOptions(timeformat="epochsecs", blanks_as_null=True, empty_as_null=True),
    production.CopyOptions(timeformat="auto", truncate_columns=True, accept_inv_chars="?"),
    production.CopyOptions(accept_inv_chars="^", max_error=10),
    production.CopyOptions(max_error=100000, compupdate=True, statupdate=False),
    production.CopyOptions(compupdate=False, statupdate=True),
    production.CopyOptions(
        json_format="s3://b/paths.json",
        timeformat="epochmillisecs",
        blanks_as_null=True,
        empty_as_null=True,
        truncate_columns=True,
        compression="gzip",
        region="eu-central-1",
        compupdate=False,
        statupdate=False,
        max_error=3,
        accept_inv_chars="#",
        manifest=True,
        roundec=True,
        explicit_ids=True,
    ),
]
CREDENTIALS = [
    production.Credentials(role_arn=ROLE_ARN),
    production.Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY),
    production.Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=TOKEN),
]
SPECS = [
    production.CopySpec(table="staging_events", bucket="udacity-dend", keys=("log_data",)),
    production.CopySpec(
        table="sparkify.staging_songs",
        bucket="my-bucket.eu",
        keys=("song_data/A/B/",),
        columns=("song_id", "title", "year"),
    ),
    production.CopySpec(table="run_1$x", bucket="b12", keys=("manifests/run 1/objects.manifest",), columns=("a",)),
]


@pytest.mark.parametrize("options", OPTION_MATRIX, ids=lambda o: o.sql()[:60])
@pytest.mark.parametrize("credentials", CREDENTIALS, ids=["role", "keys", "keys+token"])
@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.table)
def test_production_copy_sql_parses_back_to_the_same_command(spec, credentials, options):
    spec = dataclasses.replace(spec, options=options)
    key = spec.keys[0]
    command = parse_copy(spec.copy_sql(key, credentials))
    assert (command.table, command.columns, command.source) == (spec.table, spec.columns, spec.uri(key))
    assert command.options == options
    assert command.credentials == credentials
    assert (command.bucket, command.key) == (spec.bucket, key)


def test_every_copy_option_is_covered_by_the_round_trip_matrix():
    fields = {f.name for f in dataclasses.fields(CopyOptions)}
    default = CopyOptions()
    changed = {name for o in OPTION_MATRIX for name in fields if getattr(o, name) != getattr(default, name)}
    assert changed == fields


NAME = st.from_regex(r"[a-z_][a-z0-9_$]{0,20}", fullmatch=True)
# Characters of S3 keys and jsonpaths URIs, with some that SQL lexing could trip on (no backslash: the
# operator refuses it; no quote in a key: CopySpec refuses it, but a jsonpaths URI may have one).
KEY_TEXT = st.text(st.sampled_from("abcXYZ019_-./ %;()*=\u00e9"), min_size=1, max_size=30)
OPTIONS = st.builds(
    CopyOptions,
    json_format=st.sampled_from(["auto", "auto ignorecase"])
    | st.builds(lambda key: f"s3://paths-bucket/{key}", KEY_TEXT | st.just("it's.json")),
    timeformat=st.none() | st.sampled_from(production.TIMEFORMATS),
    blanks_as_null=st.booleans(),
    empty_as_null=st.booleans(),
    truncate_columns=st.booleans(),
    compression=st.none() | st.sampled_from(production.COMPRESSIONS),
    region=st.none() | st.sampled_from(["us-west-2", "eu-central-1", "ap-southeast-2", "us-gov-west-1"]),
    compupdate=st.none() | st.booleans(),
    statupdate=st.none() | st.booleans(),
    max_error=st.integers(0, 100000),
    accept_inv_chars=st.none() | st.sampled_from([chr(c) for c in range(32, 127) if chr(c) not in "'\\"]),
    manifest=st.booleans(),
    roundec=st.booleans(),
    explicit_ids=st.booleans(),
)
SECRET = st.from_regex(r"[A-Za-z0-9/+=]{16,40}", fullmatch=True)
CREDENTIAL_CHOICES = st.builds(
    Credentials, role_arn=st.from_regex(r"arn:aws:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@-]{1,30}", fullmatch=True)
) | st.builds(
    Credentials,
    access_key=st.from_regex(r"[A-Z0-9]{16,20}", fullmatch=True),
    secret_key=SECRET,
    token=st.none() | SECRET,
)
SPEC_CHOICES = st.builds(
    production.CopySpec,
    table=NAME | st.builds(lambda schema, name: f"{schema}.{name}", NAME, NAME),
    bucket=st.from_regex(r"[a-z0-9][a-z0-9.-]{1,20}[a-z0-9]", fullmatch=True),
    keys=st.tuples(KEY_TEXT),
    columns=st.lists(NAME, max_size=5, unique=True).map(tuple),
)


@settings(max_examples=300, deadline=None)
@given(spec=SPEC_CHOICES, options=OPTIONS, credentials=CREDENTIAL_CHOICES)
def test_any_rendered_copy_parses_back_to_the_model_it_was_rendered_from(spec, options, credentials):
    spec = dataclasses.replace(spec, options=options)
    command = parse_copy(spec.copy_sql(spec.keys[0], credentials))
    assert command is not None
    assert (command.table, command.columns, command.source) == (spec.table, spec.columns, spec.uri(spec.keys[0]))
    assert (command.options, command.credentials) == (options, credentials)
    assert repr(command.credentials) == f"Credentials(role_arn={credentials.role_arn!r}, access_key=***)"


# --- hand-written, Redshift-documentation-style variants ---------------------------------------------


def test_lower_case_comments_whitespace_and_semicolon():
    sql = f"""
        -- load the events
        copy   public.staging_events ( artist ,auth )  /* two columns */
        from
          '{SOURCE}'
        iam_role   '{ROLE_ARN}'  -- the cluster's role
        format as json 'auto' gzip
        region as 'us-west-2' ;  ;
        -- done
    """
    command = parse_copy(sql)
    assert (command.table, command.columns, command.source) == ("public.staging_events", ("artist", "auth"), SOURCE)
    assert command.options == CopyOptions(compression="gzip", region="us-west-2")
    assert command.credentials == Credentials(role_arn=ROLE_ARN)


def test_quoted_identifiers_keep_their_name_unquoted_ones_are_lower_cased():
    command = parse_copy(f"COPY \"sparkify\".Staging_Events (\"song_id\", Title) FROM '{SOURCE}' {KEYS} JSON 'auto'")
    assert (command.table, command.columns) == ("sparkify.staging_events", ("song_id", "title"))


def test_credentials_string_with_keys_and_token():
    sql = copy(
        f"WITH CREDENTIALS AS 'aws_access_key_id={ACCESS_KEY};aws_secret_access_key={SECRET_KEY};"
        f"token={TOKEN}' FORMAT JSON 'auto'"
    )
    assert parse_copy(sql).credentials == Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=TOKEN)


def test_credentials_string_with_a_role_and_iam_role_default():
    assert parse_copy(copy(f"CREDENTIALS 'aws_iam_role={ROLE_ARN}' JSON 'auto'")).credentials.role_arn == ROLE_ARN
    assert parse_copy(copy("IAM_ROLE default JSON 'auto'")).credentials == Credentials(role_arn="default")


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("FORMAT AS JSON", "auto"),
        ("FORMAT JSON 'AUTO'", "auto"),
        ("format json as 'Auto  IgnoreCase'", "auto ignorecase"),
        ("JSON AS 's3://b/Paths.json'", "s3://b/Paths.json"),
        ("JSON", "auto"),
    ],
)
def test_json_format_forms(clause, expected):
    assert parse_copy(copy(f"IAM_ROLE default {clause}")).options.json_format == expected


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        ("COMPUPDATE", {"compupdate": True}),
        ("COMPUPDATE PRESET STATUPDATE", {"compupdate": True, "statupdate": True}),
        ("COMPUPDATE FALSE STATUPDATE TRUE", {"compupdate": False, "statupdate": True}),
        ("STATUPDATE OFF COMPUPDATE ON", {"compupdate": True, "statupdate": False}),
        ("ACCEPTINVCHARS", {"accept_inv_chars": "?"}),
        ("ACCEPTINVCHARS AS '^'", {"accept_inv_chars": "^"}),
        ("MAXERROR AS 10", {"max_error": 10}),
        ("MAXERROR 0", {"max_error": 0}),
        ("TIMEFORMAT AS 'EpochSecs'", {"timeformat": "epochsecs"}),
        ("BZIP2 MANIFEST", {"compression": "bzip2", "manifest": True}),
        (
            "BLANKSASNULL EMPTYASNULL TRUNCATECOLUMNS",
            {"blanks_as_null": True, "empty_as_null": True, "truncate_columns": True},
        ),
    ],
)
def test_option_forms(clause, expected):
    command = parse_copy(copy(f"JSON 'auto' {clause} IAM_ROLE default"))
    assert command.options == CopyOptions(**expected)


def test_string_literals_take_doubled_quotes_and_keep_backslashes():
    command = parse_copy(f"COPY t FROM 's3://b/it''s\\dir/' {KEYS} JSON 'auto'")
    assert command.source == "s3://b/it's\\dir/"


# --- statements that are not a COPY from S3 go to PostgreSQL unchanged -------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "COPY t FROM STDIN",
        "copy t (a, b) from stdin with (format csv)",
        "COPY t TO STDOUT",
        "COPY (SELECT 's3://b/k') TO STDOUT",
        "COPY t FROM '/tmp/data.csv'",
        "SELECT 'COPY t FROM ''s3://b/k'''",
        "INSERT INTO t VALUES ('s3://b/k')",
        "-- COPY t FROM 's3://b/k'\nSELECT 1",
        "",
        "   ",
        "/* only a comment */",
    ],
)
def test_other_statements_are_not_parsed(sql):
    assert parse_copy(sql) is None


# --- rejections ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "sqlstate", "names"),
    [
        ("JSON 'auto' FOO", "42601", "FOO"),
        ("JSON 'auto' 'stray literal'", "42601", "string literal"),
        ("CSV", "0A000", "CSV"),
        ("FORMAT AS PARQUET", "0A000", "PARQUET"),
        ("JSON 'auto' DELIMITER ','", "0A000", "DELIMITER"),
        ("JSON 'auto' IGNOREHEADER 1", "0A000", "IGNOREHEADER"),
        ("JSON 'auto' LZOP", "0A000", "LZOP"),
        ("JSON 'noshred'", "0A000", "noshred"),
        ("JSON 'paths.json'", "22023", "JSON"),
        ("GZIP", "0A000", "FORMAT AS JSON"),
        ("JSON 'auto' GZIP GZIP", "42601", "GZIP"),
        ("JSON 'auto' GZIP ZSTD", "42601", "ZSTD"),
        ("JSON 'auto' FORMAT JSON 'auto'", "42601", "JSON"),
        ("JSON 'auto' MAXERROR 1 MAXERROR 2", "42601", "MAXERROR"),
        ("JSON 'auto' MAXERROR -1", "22023", "MAXERROR"),
        ("JSON 'auto' MAXERROR 'ten'", "22023", "MAXERROR"),
        ("JSON 'auto' MAXERROR 1.5", "22023", "MAXERROR"),
        ("JSON 'auto' MAXERROR 100001", "22023", "MAXERROR"),
        ("JSON 'auto' MAXERROR", "22023", "MAXERROR"),
        ("JSON 'auto' TIMEFORMAT 'YYYY-MM-DD HH:MI:SS'", "0A000", "TIMEFORMAT"),
        ("JSON 'auto' ACCEPTINVCHARS 'ab'", "22023", "ACCEPTINVCHARS"),
        # Redshift takes any ASCII character but NULL; the COPY model, and so the emulator that parses
        # into it, takes no quote or backslash (the operator could not send them).
        ("JSON 'auto' ACCEPTINVCHARS ''''", "0A000", "ACCEPTINVCHARS"),
        ("JSON 'auto' ACCEPTINVCHARS '\\'", "0A000", "ACCEPTINVCHARS"),
        ("JSON 'auto' REGION 'mars'", "22023", "REGION"),
        ("JSON 'auto' REGION", "42601", "REGION"),
        ("JSON 'auto' COMPUPDATE ON COMPUPDATE OFF", "42601", "COMPUPDATE"),
    ],
)
def test_bad_options_are_refused_by_name(options, sqlstate, names):
    error = reject(copy(f"IAM_ROLE default {options}"), sqlstate)
    assert names in error.message


@pytest.mark.parametrize(
    ("sql", "sqlstate"),
    [
        (f"COPY t '{SOURCE}' IAM_ROLE default JSON 'auto'", "42601"),
        (f"COPY t (a, b FROM '{SOURCE}' IAM_ROLE default JSON 'auto'", "42601"),
        (f"COPY t () FROM '{SOURCE}' IAM_ROLE default JSON 'auto'", "42601"),
        (f"COPY t (a, a) FROM '{SOURCE}' IAM_ROLE default JSON 'auto'", "22023"),
        (f"COPY FROM '{SOURCE}' IAM_ROLE default JSON 'auto'", "42601"),
        (f"COPY \"Users\" FROM '{SOURCE}' IAM_ROLE default JSON 'auto'", "0A000"),
        (f"COPY dev.public.users FROM '{SOURCE}' IAM_ROLE default JSON 'auto'", "0A000"),
        ("COPY t FROM 's3://' IAM_ROLE default JSON 'auto'", "22023"),
        ("COPY t FROM 'dynamodb://ProductCatalog' IAM_ROLE default READRATIO 50", "0A000"),
        ("COPY t FROM 'emr://j-1/myoutput/part-*' IAM_ROLE default", "0A000"),
        (f"COPY t FROM '{SOURCE}' IAM_ROLE default JSON 'auto'; SELECT 1", "0A000"),
        (f"COPY t FROM '{SOURCE}' IAM_ROLE default JSON 'auto", "42601"),
    ],
)
def test_malformed_copies_are_refused(sql, sqlstate):
    reject(sql, sqlstate)


@pytest.mark.parametrize(
    "credentials",
    [
        "",
        "IAM_ROLE",
        "IAM_ROLE ''",
        f"ACCESS_KEY_ID '{ACCESS_KEY}'",
        f"SECRET_ACCESS_KEY '{SECRET_KEY}'",
        f"SESSION_TOKEN '{TOKEN}'",
        f"ACCESS_KEY_ID '{ACCESS_KEY}' SESSION_TOKEN '{TOKEN}'",
        f"ACCESS_KEY_ID {ACCESS_KEY} SECRET_ACCESS_KEY {SECRET_KEY}",
        f"IAM_ROLE '{ROLE_ARN}' {KEYS}",
        f"{KEYS} CREDENTIALS 'aws_access_key_id={ACCESS_KEY};aws_secret_access_key={SECRET_KEY}'",
        f"IAM_ROLE default IAM_ROLE '{ROLE_ARN}'",
        f"{KEYS} ACCESS_KEY_ID '{ACCESS_KEY}'",
        f"CREDENTIALS 'aws_access_key_id={ACCESS_KEY}'",
        f"CREDENTIALS 'aws_access_key_id={ACCESS_KEY};secret={SECRET_KEY}'",
        f"CREDENTIALS '{ACCESS_KEY}:{SECRET_KEY}'",
        f"CREDENTIALS 'aws_iam_role={ROLE_ARN};aws_access_key_id={ACCESS_KEY};aws_secret_access_key={SECRET_KEY}'",
        f"CREDENTIALS 'token={TOKEN}'",
        f"CREDENTIALS {SECRET_KEY}",
    ],
)
def test_missing_incomplete_or_conflicting_credentials_are_refused_without_echoing_them(credentials):
    error = reject(copy(f"FORMAT AS JSON 'auto' {credentials}"), "42601")
    assert any(word in error.message for word in ("credentials", "IAM_ROLE", "ACCESS_KEY_ID", "CREDENTIALS"))


@pytest.mark.parametrize(
    "mistake",
    [
        f"{KEYS} {SECRET_KEY}",  # a stray secret where an option should be
        f"{KEYS} SESSION_TOKEN {TOKEN}",
        f"{KEYS} WJALRXUTNFEMIKMDENGB",  # a letters-only stray word as long as an access key is not echoed either
        f"ACCESS_KEY_ID '{ACCESS_KEY}' '{SECRET_KEY}'",
        f"{KEYS} CSV",
        f"{KEYS} TIMEFORMAT '{SECRET_KEY}'",
        f"{KEYS} REGION '{SECRET_KEY}'",
    ],
)
def test_no_error_message_contains_a_secret(mistake):
    error = reject(copy(f"JSON 'auto' {mistake}"), reject_state(mistake))
    assert "WJALRXUTNFEMI" not in error.message


def reject_state(mistake: str) -> str:
    states = {"CSV": "0A000", "TIMEFORMAT": "0A000", "REGION": "22023"}
    return next((states[word] for word in mistake.split() if word in states), "42601")


def test_credentials_never_show_in_the_parsed_commands_repr():
    command = parse_copy(copy(f"{KEYS} SESSION_TOKEN '{TOKEN}' JSON 'auto'"))
    assert not any(secret in repr(command) for secret in SECRETS)


# --- redact ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "credentials",
    [c.sql() for c in CREDENTIALS[1:]]
    + [
        f"CREDENTIALS 'aws_access_key_id={ACCESS_KEY};aws_secret_access_key={SECRET_KEY};token={TOKEN}'",
        f"with credentials as 'aws_access_key_id={ACCESS_KEY};aws_secret_access_key={SECRET_KEY}'",
        f"access_key_id '{ACCESS_KEY}' secret_access_key '{SECRET_KEY}' session_token '{TOKEN}'",
    ],
)
def test_redact_masks_every_credential_value(credentials):
    sql = copy(f"{credentials} FORMAT AS JSON 'auto' REGION 'us-west-2'")
    redacted = redact(sql)
    assert not any(secret in redacted for secret in SECRETS)
    assert "'***'" in redacted and redacted.endswith("FORMAT AS JSON 'auto' REGION 'us-west-2'")
    assert SOURCE in redacted


def test_redact_keeps_role_arns_and_the_rest_of_the_statement():
    for sql in (
        copy(f"IAM_ROLE '{ROLE_ARN}' JSON 'auto'"),
        copy(f"CREDENTIALS 'aws_iam_role={ROLE_ARN}' JSON 'auto'"),
        "SELECT 1",
        "COPY t FROM STDIN",
    ):
        assert redact(sql) == sql


@pytest.mark.parametrize(
    "sql",
    [
        f"COPY t FROM '{SOURCE}' ACCESS_KEY_ID '{ACCESS_KEY}' SECRET_ACCESS_KEY '{SECRET_KEY}",  # unterminated
        f"COPY t FROM '{SOURCE}' ACCESS_KEY_ID {ACCESS_KEY} SECRET_ACCESS_KEY {SECRET_KEY} JSON 'auto'",  # unquoted
        f"COPY t FROM '{SOURCE}' ACCESS_KEY_ID '{ACCESS_KEY}' '{SECRET_KEY}' SESSION_TOKEN AS '{TOKEN}'",
        f"COPY t SECRET_ACCESS_KEY '{SECRET_KEY}' ACCESS_KEY_ID '{ACCESS_KEY}' CREDENTIALS '{TOKEN}",
        f"copy t from '{SOURCE}' credentials 'aws_access_key_id={ACCESS_KEY};aws_iam_role=x;token={TOKEN}'"
        f" secret_access_key e'{SECRET_KEY}'",
        f"UNLOAD ('select 1') TO 's3://b/p' ACCESS_KEY_ID '{ACCESS_KEY}' SECRET_ACCESS_KEY '{SECRET_KEY}'",
    ],
)
def test_redact_works_on_malformed_statements(sql):
    redacted = redact(sql)
    assert not any(secret in redacted for secret in SECRETS), redacted


def test_redact_of_every_round_trip_statement():
    for spec, credentials in itertools.product(SPECS, CREDENTIALS):
        sql = spec.copy_sql(spec.keys[0], credentials)
        redacted = redact(sql)
        assert not any(secret in redacted for secret in SECRETS)
        if credentials.access_key:
            assert redacted == spec.copy_sql(spec.keys[0], credentials, redacted=True).replace("***", "'***'")


# --- DDL rewriting ---------------------------------------------------------------------------------

REDSHIFT_DDL = split_statements((SQL_DIR / "create_tables.sql").read_text())


def test_every_statement_of_create_tables_is_rewritten_into_one_guarded_do_block():
    for statement in REDSHIFT_DDL:
        rewritten = rewrite_ddl(statement)
        table = statement.split("EXISTS", 1)[1].split()[0]
        assert rewritten.startswith(f"DO $ddl$ BEGIN IF to_regclass('{table}') IS NULL THEN CREATE TABLE IF NOT")
        assert rewritten.endswith("END IF; END; $ddl$")
        body = rewritten.upper()
        for word in ("DISTSTYLE", "DISTKEY", "SORTKEY (", "ENCODE "):
            assert word not in body
        assert ("CREATE INDEX" in body) == ("SORTKEY" in statement.upper())


def test_create_table_with_a_compound_sort_key_becomes_table_and_index():
    songplays = next(s for s in REDSHIFT_DDL if "songplays" in s)
    rewritten = rewrite_ddl(songplays)
    assert 'CREATE INDEX IF NOT EXISTS "songplays_sortkey_idx" ON songplays (start_time, user_id); PERFORM' in rewritten
    assert "user_agent  VARCHAR(1024)\n); CREATE INDEX" in rewritten  # the primary key is recorded, not created
    assert rewritten.endswith(
        "PERFORM redshift_emulator.add_constraint('songplays'::regclass, NULL, 'p', ARRAY['songplay_id']::text[], "
        "NULL, NULL, FALSE); PERFORM redshift_emulator.record_layout('songplays'::regclass, 'KEY', 'user_id', NULL); "
        "END IF; END; $ddl$"
    )


def test_column_attributes_identity_and_varchar_max():
    sql = (
        "CREATE TABLE t (id BIGINT IDENTITY(0, 1) ENCODE az64, a INT ENCODE zstd DISTKEY, "
        "b VARCHAR(MAX) SORTKEY, c NVARCHAR(max) COLLATE CASE_INSENSITIVE, "
        "d BIGINT GENERATED BY DEFAULT AS IDENTITY(5,-1), e CHARACTER VARYING(MAX) NOT NULL) "
        "DISTSTYLE KEY BACKUP NO ENCODE AUTO;"
    )
    assert rewrite_ddl(sql) == (
        "DO $ddl$ BEGIN CREATE TABLE t ("
        "id BIGINT GENERATED BY DEFAULT AS IDENTITY (START WITH 0 INCREMENT BY 1 MINVALUE 0), "
        "a INT, b VARCHAR(65535), c VARCHAR(65535), "
        "d BIGINT GENERATED BY DEFAULT AS IDENTITY (START WITH 5 INCREMENT BY -1 MAXVALUE 5), "
        "e CHARACTER VARYING(65535) NOT NULL); "
        'CREATE INDEX IF NOT EXISTS "t_sortkey_idx" ON t (b); '
        "PERFORM redshift_emulator.record_layout('t'::regclass, 'KEY', 'a', NULL); END; $ddl$"
    )


def test_without_sort_key_or_if_not_exists_the_result_is_a_plain_create_table():
    assert rewrite_ddl("create temp table t (a int) encode auto") == "create temp table t (a int)"


def test_the_distribution_is_recorded_for_svv_table_info_and_pg_table_def():
    assert rewrite_ddl("create temp table t (a int) diststyle even distkey(a)") == (
        "DO $ddl$ BEGIN create temp table t (a int); "
        "PERFORM redshift_emulator.record_layout('t'::regclass, 'EVEN', 'a', NULL); END; $ddl$"
    )


def test_interleaved_sort_key_on_a_quoted_schema_qualified_table():
    rewritten = rewrite_ddl(
        'CREATE TABLE IF NOT EXISTS "My Schema"."Ta""ble" (x INT, y INT) INTERLEAVED SORTKEY (x, y)'
    )
    assert rewritten == (
        'DO $ddl$ BEGIN IF to_regclass(\'"My Schema"."Ta""ble"\') IS NULL THEN '
        'CREATE TABLE IF NOT EXISTS "My Schema"."Ta""ble" (x INT, y INT); '
        'CREATE INDEX IF NOT EXISTS "Ta""ble_sortkey_idx" ON "My Schema"."Ta""ble" (x, y); '
        'PERFORM redshift_emulator.record_layout(\'"My Schema"."Ta""ble"\'::regclass, NULL, NULL, TRUE); '
        "END IF; END; $ddl$"
    )


def test_dollar_quote_tag_does_not_collide_with_the_body():
    rewritten = rewrite_ddl("CREATE TABLE t (a VARCHAR(10) DEFAULT $ddl$x$ddl$) SORTKEY (a)")
    assert rewritten.startswith("DO $ddl1$ ") and rewritten.endswith(" $ddl1$")


def test_alter_table_distribution_is_recorded():
    assert rewrite_ddl("ALTER TABLE sparkify.users ALTER DISTSTYLE ALL;") == (
        "DO $ddl$ BEGIN PERFORM redshift_emulator.record_layout('sparkify.users'::regclass, 'ALL', NULL, NULL); "
        "END; $ddl$"
    )
    assert rewrite_ddl("ALTER TABLE sparkify.users ALTER DISTKEY user_id;") == (
        "DO $ddl$ BEGIN PERFORM redshift_emulator.record_layout('sparkify.users'::regclass, NULL, 'user_id', NULL); "
        "END; $ddl$"
    )


def test_alter_table_sort_and_encoding_changes_only_check_the_table():
    for action in (
        "ALTER COMPOUND SORTKEY (a, b)",
        "ALTER SORTKEY NONE",
        "ALTER ENCODE AUTO",
        "ALTER COLUMN c ENCODE zstd",
    ):
        assert rewrite_ddl(f"ALTER TABLE sparkify.users {action};") == (
            "DO $ddl$ BEGIN PERFORM 'sparkify.users'::regclass; END; $ddl$"
        )


def test_alter_table_add_column_drops_column_attributes():
    assert (
        rewrite_ddl("ALTER TABLE t ADD COLUMN c VARCHAR(MAX) ENCODE lzo") == "ALTER TABLE t ADD COLUMN c VARCHAR(65535)"
    )


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT 1",
        "CREATE TABLE IF NOT EXISTS t (a INT NOT NULL, b INT NULL)",
        "CREATE TABLE t (LIKE u)",
        "ALTER TABLE t DROP COLUMN c",
        "CREATE INDEX i ON t (a)",
        "ALTER TABLE t ADD COLUMN c INT",
        "ALTER TABLE t RENAME TO u",
        "CREATE TABLE t (a VARCHAR(10) DEFAULT 'DISTSTYLE EVEN')",
        "CREATE TABLE t (a INT) DISTSTYLE EVEN; SELECT 1",
        "CREATE TABLE t (a VARCHAR(10) DEFAULT 'unterminated) DISTSTYLE EVEN",
        "CREATE",
    ],
)
def test_statements_that_need_no_rewriting(sql):
    assert rewrite_ddl(sql) is None


# --- Informational constraints -----------------------------------------------------------------
# Redshift records PRIMARY KEY, UNIQUE and FOREIGN KEY and enforces none of them; it enforces NOT NULL
# (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html). CHECK is unsupported
# (https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html).

RECORD = "PERFORM redshift_emulator.add_constraint("


def test_column_constraints_are_removed_and_recorded_and_a_primary_key_becomes_not_null():
    rewritten = rewrite_ddl(
        "CREATE TABLE t (a INT PRIMARY KEY, b INT UNIQUE, c INT REFERENCES r (x) ON DELETE CASCADE NOT NULL)"
    )
    assert rewritten == (
        "DO $ddl$ BEGIN CREATE TABLE t (a INT NOT NULL, b INT, c INT NOT NULL); "
        f"{RECORD}'t'::regclass, NULL, 'p', ARRAY['a']::text[], NULL, NULL, FALSE); "
        f"{RECORD}'t'::regclass, NULL, 'u', ARRAY['b']::text[], NULL, NULL, FALSE); "
        f"{RECORD}'t'::regclass, NULL, 'f', ARRAY['c']::text[], 'r'::regclass, ARRAY['x']::text[], FALSE); END; $ddl$"
    )


def test_table_constraints_are_removed_with_their_commas_and_key_columns_become_not_null():
    rewritten = rewrite_ddl(
        'CREATE TABLE IF NOT EXISTS s."T" (PRIMARY KEY (id, "Kind"), id INT, "Kind" VARCHAR(8) SORTKEY, '
        "note VARCHAR(MAX) NULL, CONSTRAINT t_note UNIQUE (note), FOREIGN KEY (id) REFERENCES s.parent) DISTSTYLE ALL"
    )
    table = "'s.\"T\"'::regclass"
    assert rewritten == (
        "DO $ddl$ BEGIN IF to_regclass('s.\"T\"') IS NULL THEN "
        'CREATE TABLE IF NOT EXISTS s."T" (id INT NOT NULL, "Kind" VARCHAR(8) NOT NULL, note VARCHAR(65535) NULL); '
        'CREATE INDEX IF NOT EXISTS "T_sortkey_idx" ON s."T" ("Kind"); '
        f"{RECORD}{table}, NULL, 'p', ARRAY['id', 'Kind']::text[], NULL, NULL, FALSE); "
        f"{RECORD}{table}, 't_note', 'u', ARRAY['note']::text[], NULL, NULL, FALSE); "
        f"{RECORD}{table}, NULL, 'f', ARRAY['id']::text[], 's.parent'::regclass, NULL, FALSE); "
        f"PERFORM redshift_emulator.record_layout({table}, 'ALL', NULL, NULL); END IF; END; $ddl$"
    )


def test_named_column_constraint_on_a_temporary_table():
    assert rewrite_ddl("create temp table t (a int constraint t_pk primary key, b int not null)") == (
        "DO $ddl$ BEGIN create temp table t (a int NOT NULL, b int not null); "
        f"{RECORD}'t'::regclass, 't_pk', 'p', ARRAY['a']::text[], NULL, NULL, FALSE); END; $ddl$"
    )


def test_the_official_starters_users_table_records_its_named_primary_key():
    assert rewrite_ddl(
        "CREATE TABLE public.users (userid int4 NOT NULL, first_name varchar(256), "
        "CONSTRAINT users_pkey PRIMARY KEY (userid));"
    ) == (
        "DO $ddl$ BEGIN CREATE TABLE public.users (userid int4 NOT NULL, first_name varchar(256)); "
        f"{RECORD}'public.users'::regclass, 'users_pkey', 'p', ARRAY['userid']::text[], NULL, NULL, FALSE); END; $ddl$"
    )


def test_a_key_column_that_declares_null_or_not_null_gets_no_second_declaration():
    rewritten = rewrite_ddl("CREATE TABLE t (a INT NOT NULL, b INT NULL, c INT DEFAULT NULL, PRIMARY KEY (a, b, c))")
    assert rewritten.startswith(
        "DO $ddl$ BEGIN CREATE TABLE t (a INT NOT NULL, b INT NULL, c INT DEFAULT NULL NOT NULL);"
    )


def test_alter_table_add_and_drop_constraint():
    assert rewrite_ddl("ALTER TABLE t ADD CONSTRAINT t_pk PRIMARY KEY (a);") == (
        f"DO $ddl$ BEGIN {RECORD}'t'::regclass, 't_pk', 'p', ARRAY['a']::text[], NULL, NULL, TRUE); END; $ddl$"
    )
    assert rewrite_ddl("ALTER TABLE t ADD FOREIGN KEY (a, b) REFERENCES r (x, y)") == (
        f"DO $ddl$ BEGIN {RECORD}'t'::regclass, NULL, 'f', ARRAY['a', 'b']::text[], 'r'::regclass, "
        "ARRAY['x', 'y']::text[], TRUE); END; $ddl$"
    )
    assert rewrite_ddl('ALTER TABLE t DROP CONSTRAINT "T_pk" CASCADE') == (
        "DO $ddl$ BEGIN IF NOT redshift_emulator.drop_constraint('t'::regclass, 'T_pk', TRUE) "
        'THEN ALTER TABLE t DROP CONSTRAINT "T_pk" CASCADE; END IF; END; $ddl$'
    )


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t (a INT CHECK (a > 0))",
        "CREATE TABLE IF NOT EXISTS t (a INT, CONSTRAINT positive CHECK (a > 0)) DISTSTYLE EVEN",
        "ALTER TABLE t ADD CONSTRAINT positive CHECK (a > 0)",
    ],
)
def test_check_constraints_are_refused_with_redshifts_error(sql):
    assert rewrite_ddl(sql) == (
        "DO $ddl$ BEGIN RAISE EXCEPTION USING MESSAGE = "
        "'ALTER/CREATE TABLE column CHECK constraint is not supported', ERRCODE = '0A000'; END; $ddl$"
    )
