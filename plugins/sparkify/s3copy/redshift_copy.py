"""COPY on Redshift: credentials kept out of logs and errors, rejected rows read back from stl_load_errors."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

from sparkify.s3copy.spec import CopySpec, Credentials

log = logging.getLogger(__name__)


ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}")
# Redshift's message for a load that rejected more rows than MAXERROR allows.
LOAD_FAILED = re.compile(r"Load into table '[^']*' failed")
# The rejected rows of the session's last COPY, as Redshift records them.
LOAD_ERRORS_SQL = """
SELECT TRIM(filename), line_number, TRIM(colname), TRIM(type), position, TRIM(raw_field_value),
       err_code, TRIM(err_reason)
FROM stl_load_errors
WHERE query = pg_last_copy_id()
ORDER BY line_number, position
LIMIT 100
"""


class CopyFailed(RuntimeError):
    """A COPY that Redshift refused: a transient failure (connection, S3) unless `data_error` is set."""

    def __init__(self, message: str, data_error: bool) -> None:
        super().__init__(message)
        self.data_error = data_error


@dataclass(frozen=True)
class RejectedRow:
    """One row of stl_load_errors."""

    filename: str
    line_number: int
    column: str
    column_type: str
    position: int
    raw_value: str
    err_code: int
    reason: str

    def __str__(self) -> str:
        return (
            f"{self.filename} line {self.line_number}, position {self.position}, column {self.column} "
            f"({self.column_type}), raw value {self.raw_value!r}: {self.reason} (error {self.err_code})"
        )


def copy_credentials(aws_conn_id: str, iam_role: str | None = None) -> Credentials:
    """How COPY authenticates: `iam_role` if given, else the connection's keys via the hook.

    Not the connection's `role_arn` extra: the provider would assume that role for the task's
    own calls, and a role for COPY trusts only Redshift."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk.log import mask_secret

    role_arn = (iam_role or "").strip()
    if role_arn:
        if not ROLE_ARN.fullmatch(role_arn):
            raise ValueError(
                f"COPY's IAM role {role_arn!r} is not a role ARN (arn:aws:iam::<12-digit account>:role/<name>)."
            )
        return Credentials(role_arn=role_arn)
    frozen = S3Hook(aws_conn_id=aws_conn_id).get_credentials()
    for secret in (frozen.secret_key, frozen.token):
        if secret:
            mask_secret(secret)
    return Credentials(access_key=frozen.access_key, secret_key=frozen.secret_key, token=frozen.token)


def redact(text: str, credentials: Credentials) -> str:
    for secret in (credentials.access_key, credentials.secret_key, credentials.token):
        if secret:
            text = text.replace(secret, "***")
    return text


def run_redshift_copy(spec: CopySpec, cursor: Any, credentials: Credentials) -> int:
    """Run the COPYs through `cursor`, inside the caller's transaction; returns rows loaded."""
    clear = spec.clear_sql()
    if clear:
        cursor.execute(clear)
    rows = 0
    for key in spec.keys:
        log.info("Running %s", spec.copy_sql(key, credentials, redacted=True))
        failure = None
        try:
            cursor.execute(spec.copy_sql(key, credentials))
            cursor.execute("SELECT pg_last_copy_count()")
            rows += cursor.fetchone()[0]
        except Exception as error:
            failure = redact(describe_error(error), credentials)
        if failure is not None:
            # Raised outside the except block, so the driver's error, which may quote the
            # statement with its keys, is neither chained (__context__) nor kept in a frame.
            raise CopyFailed(
                f"COPY into {spec.table} from {spec.uri(key)} failed: {failure}",
                data_error=bool(LOAD_FAILED.search(failure)),
            )
    return rows


def describe_error(error: Exception) -> str:
    """The driver's error as a sentence: redshift_connector's are dicts of the server's fields."""
    fields = error.args[0] if error.args and isinstance(error.args[0], dict) else None
    if fields is None:
        return str(error)
    text = f"{fields.get('M', '')} [SQLSTATE {fields.get('C', '?')}]"
    return f"{text} {fields['D']}" if fields.get("D") else text


def rejected_count(cursor: Any) -> int:
    """How many rows the session's last COPY rejected."""
    cursor.execute("SELECT COUNT(*) FROM stl_load_errors WHERE query = pg_last_copy_id()")
    return int(cursor.fetchone()[0])


def rejected_rows(cursor: Any) -> list[RejectedRow]:
    """The rows that the session's last COPY rejected (stl_load_errors, at most 100)."""
    cursor.execute(LOAD_ERRORS_SQL)
    rows: list[list[Any]] = [[value if value is not None else "" for value in row] for row in cursor.fetchall()]
    return [RejectedRow(*row) for row in rows]
