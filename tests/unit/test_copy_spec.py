"""Golden tests of the Redshift COPY SQL rendered by `sparkify.s3copy.spec`."""

from __future__ import annotations

from datetime import date

import pytest

from sparkify.s3copy.spec import CopyOptions, CopySpec, Credentials, expand_keys

ROLE_ARN = "arn:aws:iam::123456789012:role/dwhRole"
ACCESS_KEY = "TESTEXAMPLEACCESSKEY"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FwoGZXIvYXdzEXAMPLETOKEN+abc/def=="

ROLE = Credentials(role_arn=ROLE_ARN)
KEYS = Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY)
KEYS_AND_TOKEN = Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY, token=TOKEN)


def spec(**overrides) -> CopySpec:
    fields = {"table": "staging_events", "bucket": "udacity-dend", "keys": ("log_data",)}
    fields.update(overrides)
    return CopySpec(**fields)


def options_line(options: CopyOptions) -> str:
    """The last line of the COPY: the rendered options."""
    return spec(options=options).copy_sql("log_data", ROLE).splitlines()[-1]


# --- credentials -------------------------------------------------------------------------------


def test_copy_with_iam_role():
    assert spec().copy_sql("log_data", ROLE) == (
        'COPY "staging_events"\n'
        "FROM 's3://udacity-dend/log_data'\n"
        "IAM_ROLE 'arn:aws:iam::123456789012:role/dwhRole'\n"
        "FORMAT AS JSON 'auto'"
    )


def test_copy_with_access_key_and_secret():
    assert spec().copy_sql("log_data", KEYS) == (
        'COPY "staging_events"\n'
        "FROM 's3://udacity-dend/log_data'\n"
        "ACCESS_KEY_ID 'TESTEXAMPLEACCESSKEY' "
        "SECRET_ACCESS_KEY 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY'\n"
        "FORMAT AS JSON 'auto'"
    )


def test_copy_with_access_key_secret_and_session_token():
    assert spec().copy_sql("log_data", KEYS_AND_TOKEN) == (
        'COPY "staging_events"\n'
        "FROM 's3://udacity-dend/log_data'\n"
        "ACCESS_KEY_ID 'TESTEXAMPLEACCESSKEY' "
        "SECRET_ACCESS_KEY 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' "
        "SESSION_TOKEN 'FwoGZXIvYXdzEXAMPLETOKEN+abc/def=='\n"
        "FORMAT AS JSON 'auto'"
    )


def test_empty_session_token_is_left_out():
    creds = Credentials(access_key=ACCESS_KEY, secret_key=SECRET_KEY, token="")
    assert "SESSION_TOKEN" not in creds.sql()
    assert creds.sql() == KEYS.sql()


def test_redacted_keys():
    sql = spec().copy_sql("log_data", KEYS, redacted=True)
    assert sql == (
        'COPY "staging_events"\n'
        "FROM 's3://udacity-dend/log_data'\n"
        "ACCESS_KEY_ID *** SECRET_ACCESS_KEY ***\n"
        "FORMAT AS JSON 'auto'"
    )
    assert ACCESS_KEY not in sql and SECRET_KEY not in sql


def test_redacted_keys_and_token():
    sql = spec().copy_sql("log_data", KEYS_AND_TOKEN, redacted=True)
    assert sql == (
        'COPY "staging_events"\n'
        "FROM 's3://udacity-dend/log_data'\n"
        "ACCESS_KEY_ID *** SECRET_ACCESS_KEY *** SESSION_TOKEN ***\n"
        "FORMAT AS JSON 'auto'"
    )
    for secret in (ACCESS_KEY, SECRET_KEY, TOKEN):
        assert secret not in sql


def test_redacted_role_keeps_the_role_arn():
    """An IAM role ARN is not a secret, so the redacted SQL is the same as the real one."""
    assert spec().copy_sql("log_data", ROLE, redacted=True) == spec().copy_sql("log_data", ROLE)


def test_role_takes_precedence_over_keys():
    creds = Credentials(role_arn=ROLE_ARN, access_key=ACCESS_KEY, secret_key=SECRET_KEY)
    assert creds.sql() == "IAM_ROLE 'arn:aws:iam::123456789012:role/dwhRole'"


@pytest.mark.parametrize(
    "creds",
    [
        Credentials(),
        Credentials(access_key=ACCESS_KEY),
        Credentials(secret_key=SECRET_KEY),
        Credentials(access_key=ACCESS_KEY, secret_key=""),
        Credentials(role_arn="", access_key="", secret_key=SECRET_KEY),
    ],
)
def test_credentials_without_role_or_both_keys_are_rejected(creds):
    with pytest.raises(ValueError, match="no IAM role and the AWS connection has no access keys"):
        creds.sql()
    with pytest.raises(ValueError):
        spec().copy_sql("log_data", creds)


def test_credentials_repr_does_not_leak_secrets():
    text = repr(KEYS_AND_TOKEN)
    assert SECRET_KEY not in text
    assert TOKEN not in text
    assert ACCESS_KEY not in text
    assert text == "Credentials(role_arn=None, access_key=***)"
    assert str(KEYS_AND_TOKEN) == text
    assert SECRET_KEY not in f"{KEYS_AND_TOKEN}" and SECRET_KEY not in repr([KEYS_AND_TOKEN])


def test_credentials_repr_shows_the_role():
    assert repr(ROLE) == "Credentials(role_arn='arn:aws:iam::123456789012:role/dwhRole', access_key=***)"


def test_quotes_in_credentials_are_doubled():
    creds = Credentials(access_key="AK'X", secret_key="s'e'c")
    assert creds.sql() == "ACCESS_KEY_ID 'AK''X' SECRET_ACCESS_KEY 's''e''c'"
    assert creds.sql(redacted=True) == "ACCESS_KEY_ID *** SECRET_ACCESS_KEY ***"


# --- options -----------------------------------------------------------------------------------


def test_default_options():
    assert CopyOptions().sql() == "FORMAT AS JSON 'auto'"


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (CopyOptions(json_format="auto"), "FORMAT AS JSON 'auto'"),
        (CopyOptions(json_format="auto ignorecase"), "FORMAT AS JSON 'auto ignorecase'"),
        (
            CopyOptions(json_format="s3://udacity-dend/log_json_path.json"),
            "FORMAT AS JSON 's3://udacity-dend/log_json_path.json'",
        ),
        (CopyOptions(timeformat="auto"), "FORMAT AS JSON 'auto' TIMEFORMAT 'auto'"),
        (CopyOptions(timeformat="epochsecs"), "FORMAT AS JSON 'auto' TIMEFORMAT 'epochsecs'"),
        (CopyOptions(timeformat="epochmillisecs"), "FORMAT AS JSON 'auto' TIMEFORMAT 'epochmillisecs'"),
        (CopyOptions(blanks_as_null=True), "FORMAT AS JSON 'auto' BLANKSASNULL"),
        (CopyOptions(empty_as_null=True), "FORMAT AS JSON 'auto' EMPTYASNULL"),
        (CopyOptions(truncate_columns=True), "FORMAT AS JSON 'auto' TRUNCATECOLUMNS"),
        (CopyOptions(compression="gzip"), "FORMAT AS JSON 'auto' GZIP"),
        (CopyOptions(compression="bzip2"), "FORMAT AS JSON 'auto' BZIP2"),
        (CopyOptions(compression="zstd"), "FORMAT AS JSON 'auto' ZSTD"),
        (CopyOptions(region="us-west-2"), "FORMAT AS JSON 'auto' REGION 'us-west-2'"),
        (CopyOptions(region="us-gov-west-1"), "FORMAT AS JSON 'auto' REGION 'us-gov-west-1'"),
        (CopyOptions(region="ap-southeast-2"), "FORMAT AS JSON 'auto' REGION 'ap-southeast-2'"),
        (CopyOptions(compupdate=True), "FORMAT AS JSON 'auto' COMPUPDATE ON"),
        (CopyOptions(compupdate=False), "FORMAT AS JSON 'auto' COMPUPDATE OFF"),
        (CopyOptions(statupdate=True), "FORMAT AS JSON 'auto' STATUPDATE ON"),
        (CopyOptions(statupdate=False), "FORMAT AS JSON 'auto' STATUPDATE OFF"),
        (CopyOptions(manifest=True), "FORMAT AS JSON 'auto' MANIFEST"),
        (CopyOptions(accept_inv_chars="?"), "FORMAT AS JSON 'auto' ACCEPTINVCHARS AS '?'"),
        (CopyOptions(max_error=10), "FORMAT AS JSON 'auto' MAXERROR 10"),
        (CopyOptions(max_error=0), "FORMAT AS JSON 'auto'"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_each_option(options, expected):
    assert options.sql() == expected
    assert options_line(options) == expected


def test_false_flags_and_none_settings_render_nothing():
    options = CopyOptions(
        timeformat=None,
        blanks_as_null=False,
        empty_as_null=False,
        truncate_columns=False,
        compression=None,
        region=None,
        compupdate=None,
        statupdate=None,
    )
    assert options.sql() == "FORMAT AS JSON 'auto'"


def test_full_combination():
    options = CopyOptions(
        json_format="s3://udacity-dend/log_json_path.json",
        timeformat="epochmillisecs",
        blanks_as_null=True,
        empty_as_null=True,
        truncate_columns=True,
        compression="gzip",
        region="us-west-2",
        compupdate=False,
        statupdate=True,
    )
    copy = spec(
        table="public.staging_events",
        keys=("log_data/2018/11/", "log_data/2018/12/"),
        columns=("artist", "ts", "user_id"),
        options=options,
        method="APPEND",
    )
    assert copy.copy_sql("log_data/2018/11/", KEYS_AND_TOKEN) == (
        'COPY "public"."staging_events" ("artist", "ts", "user_id")\n'
        "FROM 's3://udacity-dend/log_data/2018/11/'\n"
        "ACCESS_KEY_ID 'TESTEXAMPLEACCESSKEY' "
        "SECRET_ACCESS_KEY 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' "
        "SESSION_TOKEN 'FwoGZXIvYXdzEXAMPLETOKEN+abc/def=='\n"
        "FORMAT AS JSON 's3://udacity-dend/log_json_path.json' GZIP REGION 'us-west-2' "
        "TIMEFORMAT 'epochmillisecs' BLANKSASNULL EMPTYASNULL TRUNCATECOLUMNS COMPUPDATE OFF STATUPDATE ON"
    )
    assert copy.copy_sql("log_data/2018/11/", KEYS_AND_TOKEN, redacted=True) == (
        'COPY "public"."staging_events" ("artist", "ts", "user_id")\n'
        "FROM 's3://udacity-dend/log_data/2018/11/'\n"
        "ACCESS_KEY_ID *** SECRET_ACCESS_KEY *** SESSION_TOKEN ***\n"
        "FORMAT AS JSON 's3://udacity-dend/log_json_path.json' GZIP REGION 'us-west-2' "
        "TIMEFORMAT 'epochmillisecs' BLANKSASNULL EMPTYASNULL TRUNCATECOLUMNS COMPUPDATE OFF STATUPDATE ON"
    )
    assert copy.clear_sql() is None


def test_jsonpaths_uri_with_a_quote_is_escaped():
    options = CopyOptions(json_format="s3://bucket/it's.json")
    assert options.sql() == "FORMAT AS JSON 's3://bucket/it''s.json'"


# --- columns, tables, keys, clear_sql ----------------------------------------------------------


def test_explicit_column_list():
    copy = spec(table="songplays", columns=("start_time", "user_id", "level"))
    assert copy.copy_sql("log_data", ROLE) == (
        'COPY "songplays" ("start_time", "user_id", "level")\n'
        "FROM 's3://udacity-dend/log_data'\n"
        "IAM_ROLE 'arn:aws:iam::123456789012:role/dwhRole'\n"
        "FORMAT AS JSON 'auto'"
    )


def test_schema_qualified_table():
    first_line = spec(table="staging.staging_songs").copy_sql("song_data", ROLE).splitlines()[0]
    assert first_line == 'COPY "staging"."staging_songs"'


def test_copy_sql_uses_the_given_key():
    copy = spec(keys=("log_data/2018/11/01", "log_data/2018/11/02"))
    assert copy.uri("log_data/2018/11/02") == "s3://udacity-dend/log_data/2018/11/02"
    assert copy.copy_sql("log_data/2018/11/02", ROLE).splitlines()[1] == (
        "FROM 's3://udacity-dend/log_data/2018/11/02'"
    )


def test_empty_key_copies_the_whole_bucket():
    assert spec(keys=("",)).copy_sql("", ROLE).splitlines()[1] == "FROM 's3://udacity-dend/'"


@pytest.mark.parametrize(
    ("table", "expected"),
    [("staging_events", 'DELETE FROM "staging_events"'), ("public.songs", 'DELETE FROM "public"."songs"')],
)
def test_clear_sql_for_replace(table, expected):
    assert spec(table=table, method="REPLACE").clear_sql() == expected
    assert spec(table=table).clear_sql() == expected  # REPLACE is the default


def test_clear_sql_for_append_is_none():
    assert spec(method="APPEND").clear_sql() is None


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "json_format",
    [
        "Auto",
        "AUTO",
        "ignorecase",
        "",
        "auto  ignorecase",
        "http://x/p.json",
        "S3://bucket/p.json",
        "s3:/bucket/p.json",
        None,
    ],
)
def test_bad_json_format(json_format):
    with pytest.raises(ValueError, match="json_format must be"):
        CopyOptions(json_format=json_format)


@pytest.mark.parametrize("timeformat", ["epochmillis", "EPOCHSECS", "YYYY-MM-DD HH:MI:SS", "", "Auto"])
def test_bad_timeformat(timeformat):
    with pytest.raises(ValueError, match="timeformat must be one of"):
        CopyOptions(timeformat=timeformat)


@pytest.mark.parametrize("compression", ["GZIP", "lzop", "zip", "", "gz"])
def test_bad_compression(compression):
    with pytest.raises(ValueError, match="compression must be one of"):
        CopyOptions(compression=compression)


@pytest.mark.parametrize(
    "region", ["US-WEST-2", "us-west", "uswest2", "us-west-2'; drop table x; --", "", "us_west_2", "us-west-2a"]
)
def test_bad_region(region):
    with pytest.raises(ValueError, match="is not an AWS region name"):
        CopyOptions(region=region)


@pytest.mark.parametrize(
    "bucket",
    ["", "ab", "Udacity-Dend", "my_bucket", "-bucket", "bucket-", "a" * 64, "bucket'name", "bucket/name", None],
)
def test_bad_bucket(bucket):
    with pytest.raises(ValueError, match="is not a valid S3 bucket name"):
        spec(bucket=bucket)


@pytest.mark.parametrize("bucket", ["abc", "udacity-dend", "my.bucket.name", "a" * 63, "0bucket9"])
def test_good_bucket(bucket):
    assert spec(bucket=bucket).uri("k") == f"s3://{bucket}/k"


@pytest.mark.parametrize("keys", [(), ("log_data", "it's"), ("'; drop table x; --",), ("ok", 5)])
def test_bad_keys(keys):
    with pytest.raises(ValueError, match="Invalid S3 keys"):
        spec(keys=keys)


@pytest.mark.parametrize("table", ["users; drop table x", "Users", "1users", "a.b.c", "", '"users"', "users--"])
def test_bad_table_name(table):
    with pytest.raises(ValueError, match="Invalid table name"):
        spec(table=table)


@pytest.mark.parametrize("schema_table", ["Public.users", "pub lic.users"])
def test_bad_schema_name(schema_table):
    with pytest.raises(ValueError, match="Invalid schema name"):
        spec(table=schema_table)


@pytest.mark.parametrize("column", ["users; drop table x", "UserId", "user id", '"user_id"', "", "1col"])
def test_bad_column_name(column):
    with pytest.raises(ValueError, match="Invalid column name"):
        spec(columns=("ts", column))


@pytest.mark.parametrize("method", ["replace", "append", "MERGE", "", None])
def test_bad_method(method):
    with pytest.raises(ValueError, match="method must be one of"):
        spec(method=method)


# --- expand_keys -------------------------------------------------------------------------------

DAYS = [date(2018, 11, 30), date(2018, 12, 1), date(2018, 12, 2)]


def test_expand_keys_strftime_pattern_over_several_days():
    assert expand_keys("log_data/%Y/%m/%Y-%m-%d-events.json", DAYS) == (
        "log_data/2018/11/2018-11-30-events.json",
        "log_data/2018/12/2018-12-01-events.json",
        "log_data/2018/12/2018-12-02-events.json",
    )


def test_expand_keys_drops_repeats_and_keeps_first_seen_order():
    assert expand_keys("log_data/%Y/%m/", DAYS) == ("log_data/2018/11/", "log_data/2018/12/")


def test_expand_keys_list_input():
    assert expand_keys(["log_data/%Y/%m/", "song_data", "log_data/%Y/%m/", "song_data"], DAYS) == (
        "log_data/2018/11/",
        "log_data/2018/12/",
        "song_data",
    )


def test_expand_keys_tuple_input_with_several_patterns():
    assert expand_keys(("a/%d", "b/%d"), DAYS[:2]) == ("a/30", "a/01", "b/30", "b/01")


def test_expand_keys_plain_prefix_unchanged():
    assert expand_keys("song_data/A/B/", DAYS) == ("song_data/A/B/",)
    assert expand_keys("song_data/A/B/", []) == ("song_data/A/B/",)


def test_expand_keys_days_in_given_order():
    assert expand_keys("d=%Y-%m-%d", list(reversed(DAYS))) == ("d=2018-12-02", "d=2018-12-01", "d=2018-11-30")


def test_expand_keys_pattern_with_no_days_gives_no_keys():
    assert expand_keys("log_data/%Y/", []) == ()


def test_expanded_keys_feed_a_spec():
    keys = expand_keys("log_data/%Y/%m/", DAYS)
    copy = spec(keys=keys)
    assert [copy.copy_sql(k, ROLE).splitlines()[1] for k in copy.keys] == [
        "FROM 's3://udacity-dend/log_data/2018/11/'",
        "FROM 's3://udacity-dend/log_data/2018/12/'",
    ]


def test_every_option_together_renders_in_a_fixed_order():
    options = CopyOptions(
        json_format="s3://udacity-dend/log_json_path.json",
        manifest=True,
        compression="gzip",
        region="us-west-2",
        timeformat="epochmillisecs",
        blanks_as_null=True,
        empty_as_null=True,
        truncate_columns=True,
        accept_inv_chars="^",
        max_error=3,
        compupdate=False,
        statupdate=False,
    )
    assert options.sql() == (
        "FORMAT AS JSON 's3://udacity-dend/log_json_path.json' MANIFEST GZIP REGION 'us-west-2' "
        "TIMEFORMAT 'epochmillisecs' BLANKSASNULL EMPTYASNULL TRUNCATECOLUMNS ACCEPTINVCHARS AS '^' "
        "MAXERROR 3 COMPUPDATE OFF STATUPDATE OFF"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_error": -1}, "max_error"),
        ({"max_error": True}, "max_error"),
        ({"max_error": "5"}, "max_error"),
        ({"accept_inv_chars": "??"}, "accept_inv_chars"),
        ({"accept_inv_chars": "'"}, "accept_inv_chars"),
        ({"accept_inv_chars": "\u00e9"}, "accept_inv_chars"),
    ],
)
def test_reject_and_replacement_options_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CopyOptions(**kwargs)
