"""Redaction of passwords and AWS credentials in the emulator's logs, query history and COPY errors (pure functions).

Redshift's syntax for the secrets: PASSWORD { 'password' | 'md5hash' | 'sha256hash' | DISABLE } in
https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_USER.html and
https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_USER.html; ACCESS_KEY_ID, SECRET_ACCESS_KEY,
SESSION_TOKEN, CREDENTIALS and IAM_ROLE in
https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-authorization.html.
"""

from __future__ import annotations

import pytest

from local_stack.redshift.redaction import redact, secret_values
from local_stack.redshift.statements import StatementError, parse_copy

PASSWORD = "Sparkify2018Secret"
MD5 = "md5" + "0123456789abcdef" * 2
ROLE_ARN = "arn:aws:iam::123456789012:role/dwhRole"
SOURCE = "s3://udacity-dend/log_data"


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        (f"CREATE USER dwh PASSWORD '{PASSWORD}'", "CREATE USER dwh PASSWORD '***'"),
        (f"create user dwh with password '{MD5}' createdb", "create user dwh with password '***' createdb"),
        (
            f"ALTER USER dwh PASSWORD '{PASSWORD}' VALID UNTIL '2030-01-01'",
            "ALTER USER dwh PASSWORD '***' VALID UNTIL '2030-01-01'",
        ),
        (f"ALTER USER dwh LOGIN PASSWORD '{PASSWORD}'", "ALTER USER dwh LOGIN PASSWORD '***'"),
        (f"ALTER ROLE dwh WITH ENCRYPTED PASSWORD '{MD5}'", "ALTER ROLE dwh WITH ENCRYPTED PASSWORD '***'"),
        (f"CREATE ROLE dwh LOGIN PASSWORD E'{PASSWORD}'", "CREATE ROLE dwh LOGIN PASSWORD '***'"),
        (f"ALTER USER dwh PASSWORD $${PASSWORD}$$", "ALTER USER dwh PASSWORD '***'"),
        # broken statements: an unterminated literal, a run of literals, an unquoted or double-quoted password
        (f"CREATE USER dwh PASSWORD '{PASSWORD}", "CREATE USER dwh PASSWORD '***'"),
        (f"ALTER USER dwh PASSWORD '{PASSWORD}' '{PASSWORD}' x", "ALTER USER dwh PASSWORD '***' x"),
        (
            f"ALTER USER dwh PASSWORD {PASSWORD}!x VALID UNTIL 'never'",
            "ALTER USER dwh PASSWORD '***' VALID UNTIL 'never'",
        ),
        (f'CREATE USER dwh PASSWORD "{PASSWORD}";', "CREATE USER dwh PASSWORD '***';"),
        # a user mapping's OPTIONS (PostgreSQL's), and the secret keywords outside a COPY
        (
            f"CREATE USER MAPPING FOR dwh SERVER s OPTIONS (user 'dwh', password '{PASSWORD}')",
            "CREATE USER MAPPING FOR dwh SERVER s OPTIONS (user 'dwh', password '***')",
        ),
        (
            f"UNLOAD ('select 1') TO 's3://b/p' ACCESS_KEY_ID 'KEYID{PASSWORD}' SECRET_ACCESS_KEY '{PASSWORD}'"
            f" SESSION_TOKEN '{PASSWORD}'",
            "UNLOAD ('select 1') TO 's3://b/p' ACCESS_KEY_ID '***' SECRET_ACCESS_KEY '***' SESSION_TOKEN '***'",
        ),
        (
            f"UNLOAD ('select 1') TO 's3://b/p' CREDENTIALS 'aws_access_key_id=keyid;aws_secret_access_key={PASSWORD}'",
            "UNLOAD ('select 1') TO 's3://b/p' CREDENTIALS '***'",
        ),
    ],
)
def test_redact_masks_passwords_and_keys(sql, expected):
    assert redact(sql) == expected


@pytest.mark.parametrize(
    "sql",
    [
        "ALTER USER dwh PASSWORD DISABLE",
        "CREATE USER dwh PASSWORD DISABLE VALID UNTIL '2030-01-01'",
        "ALTER ROLE dwh PASSWORD NULL",
        "SELECT password FROM users WHERE password = 'not a clause'",
        "INSERT INTO accounts (login, password) VALUES ('dwh', 'not a clause')",
        "ALTER USER dwh PASSWORD",
        f"UNLOAD ('select 1') TO 's3://b/p' IAM_ROLE '{ROLE_ARN}'",
        f"COPY t FROM '{SOURCE}' CREDENTIALS 'aws_iam_role={ROLE_ARN}' JSON 'auto'",
        f"CREATE USER dwh PASSWORD DISABLE -- PASSWORD '{PASSWORD}' in a comment is not searched",
    ],
)
def test_redact_keeps_what_is_not_a_secret(sql):
    assert redact(sql) == sql


def test_secret_values_name_the_password_and_every_key():
    assert secret_values(f"CREATE USER dwh PASSWORD '{PASSWORD}'")[-1] == PASSWORD
    found = secret_values(
        f"COPY t FROM '{SOURCE}' CREDENTIALS 'aws_access_key_id=TESTACCESSKEY000;aws_secret_access_key={PASSWORD}'"
    )
    assert {"TESTACCESSKEY000", PASSWORD} <= set(found)
    assert found == sorted(found, key=len, reverse=True), "longest first: a value inside another goes after it"


def test_secret_values_skip_values_too_short_to_search_for():
    """An AWS access key id has at least 16 characters (IAM's AccessKeyId); 'e' is no key, and masking
    it wherever it appears would garble the message."""
    assert secret_values(f"COPY t FROM '{SOURCE}' ACCESS_KEY_ID 'e' SECRET_ACCESS_KEY 'o' JSON 'auto'") == []


def test_a_copy_error_with_short_keys_is_not_garbled():
    def message(access_key: str, secret_key: str) -> str:
        sql = f"COPY t FROM '{SOURCE}' ACCESS_KEY_ID '{access_key}' SECRET_ACCESS_KEY '{secret_key}' JSON 'auto' BOGUS"
        with pytest.raises(StatementError) as caught:
            parse_copy(sql)
        return caught.value.message

    # The message does not quote the keys, so it reads the same whatever they are.
    expected = message("TESTACCESSKEYID00000", PASSWORD)
    assert "BOGUS" in expected and "syntax error" in expected
    assert message("e", "o") == expected


def test_a_copy_error_quoting_a_key_masks_it():
    """The secret key pasted where the region goes: the error quotes the value, masked."""
    keys = f"ACCESS_KEY_ID 'TESTACCESSKEYID00000' SECRET_ACCESS_KEY '{PASSWORD}'"
    sql = f"COPY t FROM '{SOURCE}' {keys} REGION '{PASSWORD}'"
    with pytest.raises(StatementError) as caught:
        parse_copy(sql)
    assert caught.value.message.startswith("REGION *** ")
    assert PASSWORD not in caught.value.message
