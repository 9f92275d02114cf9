"""The Redshift-only statements that the local emulator intercepts instead of forwarding to PostgreSQL.

- `parse_copy(sql)`: a `COPY <table> [(<columns>)] FROM 's3://...'` as a CopyCommand, None for any
  other statement, StatementError for a COPY from S3 that is malformed or not supported here.
- `refuse_other_copy(sql)`: StatementError for any other COPY (FROM STDIN, TO STDOUT, a server file, PROGRAM).
- `redact(sql)`: the statement with its credential values masked, for logs and error messages.
- `rewrite_ddl(sql)`: Redshift DDL (DISTSTYLE, SORTKEY, ENCODE, IDENTITY, ...) as one PostgreSQL
  statement, or None when the statement needs no rewriting.

All three are pure functions of the SQL text.
"""

from __future__ import annotations

from local_stack.redshift.copy_statement import parse_copy, refuse_other_copy
from local_stack.redshift.ddl_rewrite import rewrite_ddl
from local_stack.redshift.redaction import redact
from local_stack.redshift.sql_tokens import StatementError

__all__ = ["StatementError", "parse_copy", "redact", "refuse_other_copy", "rewrite_ddl"]
