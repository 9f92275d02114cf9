"""Redshift's `COPY <table> [(<columns>)] FROM 's3://...'`, parsed into the CopyCommand that the loader runs.

Its options and credentials are the product's model (sparkify.s3copy.spec), the one the stage
operator renders its COPY from, so that what the operator sends parses back to what it meant.

The grammar is the JSON subset of Redshift's COPY (keywords case-insensitive, options in any
order, each at most once). Anything else that Redshift accepts fails with SQLSTATE 0A000,
naming the option, so that a user learns at once what the local emulator cannot do.
"""

from __future__ import annotations

import re
from typing import Any

from local_stack.redshift.s3copy.command import CopyCommand
from local_stack.redshift.sql_tokens import IDENT, NUMBER, PUNCT, STRING, WORD, StatementError, Token, tokenize
from sparkify.identifiers import validate_identifier
from sparkify.s3copy.spec import COMPRESSIONS, TIMEFORMATS, CopyOptions, Credentials

SYNTAX, UNSUPPORTED, INVALID_VALUE = "42601", "0A000", "22023"
MAX_ERROR_LIMIT = 100000
_CREDENTIALS_FORMAT = (
    "Invalid credentials. Must be of the format: credentials 'aws_iam_role=...' or "
    "'aws_access_key_id=...;aws_secret_access_key=...[;token=...]'"
)
_UNSUPPORTED_FORMATS = ("CSV", "PARQUET", "ORC", "AVRO", "SHAPEFILE", "FIXEDWIDTH", "DELIMITER", "TEXT")
# Redshift COPY options that the emulator does not implement: refused by name with 0A000.
_UNSUPPORTED_OPTIONS = frozenset(
    {
        "ACCEPTANYDATE",
        "COMPROWS",
        "DATEFORMAT",
        "ENCODING",
        "ENCRYPTED",
        "ESCAPE",
        "FILLRECORD",
        "IGNOREBLANKLINES",
        "IGNOREHEADER",
        "LZOP",
        "MASTER_SYMMETRIC_KEY",
        "NOLOAD",
        "NULL",
        "QUOTE",
        "READRATIO",
        "REMOVEQUOTES",
        "SERIALIZETOJSON",
        "SSH",
        "TRIMBLANKS",
        "IGNOREALLERRORS",
        "EXTENSIONS",
    }
)
_ON, _OFF = ("ON", "TRUE"), ("OFF", "FALSE")
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
_PLAIN_WORD = re.compile(r"[A-Za-z_]{1,17}")  # as long as SECRET_ACCESS_KEY; shorter than any AWS key


def parse_copy(sql: str) -> CopyCommand | None:
    """The COPY from S3 in `sql`, or None if `sql` is anything else (PostgreSQL runs it unchanged).

    Raises StatementError for a COPY from S3 (or from another `scheme://` source) that is
    malformed or uses an option the emulator does not support. The table is returned as a plain
    `name` or `schema.name` of validated identifiers (what `sparkify.identifiers.quote_table` takes):
    unquoted names are lower-cased as Redshift does, quoted ones are kept as written and must
    be plain lower-case identifiers too.
    """
    tokens = tokenize(sql)
    if not tokens or not tokens[0].is_word("COPY"):
        return None
    source_at = _source_position(tokens)
    if source_at is None:
        if tokens[1:2] and tokens[1].is_punct("(") or any(t.is_word("TO") for t in tokens):
            return None  # COPY (query) TO ..., COPY t TO ...: PostgreSQL's
        if any(t.kind == STRING and t.value.lower().startswith("s3://") for t in tokens):
            raise StatementError("syntax error: a COPY from S3 reads COPY <table> [(<columns>)] FROM 's3://...'")
        return None
    source = tokens[source_at]
    scheme = source.value.partition("://")[0].lower()
    if scheme != "s3":
        raise StatementError(f"COPY from {scheme}:// is not supported by the local emulator: only s3://", UNSUPPORTED)
    if not all(t.closed for t in tokens):
        raise StatementError("unterminated quoted string or identifier in COPY")
    try:
        return _CopyParser(tokens, source_at).parse()
    except StatementError as error:
        from local_stack.redshift.redaction import secret_values  # redaction imports this module

        message = error.message
        for secret in secret_values(sql):
            message = message.replace(secret, "***")
        if message == error.message:
            raise
        raise StatementError(message, error.sqlstate) from None


def refuse_other_copy(sql: str) -> None:
    """Raise StatementError (0A000) for a COPY that is not from a `scheme://` URI: Redshift's COPY only loads
    from Amazon S3, EMR, a host over SSH (a manifest in S3) or DynamoDB, and it has no COPY ... TO at all
    (UNLOAD exports). So PostgreSQL's COPY FROM STDIN, COPY TO STDOUT and, above all, COPY from or to a
    server file or PROGRAM never reach the emulator's PostgreSQL.
    https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html
    https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html
    """
    tokens = tokenize(sql)
    if not tokens or not tokens[0].is_word("COPY"):
        return
    depth = 0
    for i, token in enumerate(tokens):
        depth += token.is_punct("(") - token.is_punct(")")
        if depth != 0 or not token.is_word("FROM", "TO"):
            continue
        target = tokens[i + 1] if i + 1 < len(tokens) else None
        if token.is_word("TO"):
            raise StatementError(
                f"COPY ... TO {_copy_end(target)} is not supported by Amazon Redshift",
                UNSUPPORTED,
                detail="Redshift has no COPY TO: read the rows with SELECT, or export them to Amazon S3 "
                "with UNLOAD (https://docs.aws.amazon.com/redshift/latest/dg/r_UNLOAD.html).",
            )
        if target is not None and target.kind == STRING and _URI.match(target.value):
            scheme = target.value.partition("://")[0].lower()
            if scheme == "s3":
                return  # the emulator's own COPY (parse_copy)
            raise StatementError(
                f"COPY from {scheme}:// is not supported by the local emulator: only s3://", UNSUPPORTED
            )
        raise StatementError(
            f"COPY ... FROM {_copy_end(target)} is not supported by Amazon Redshift",
            UNSUPPORTED,
            detail="Redshift's COPY loads from Amazon S3, EMR, DynamoDB or a host over SSH: put the data in S3 "
            "and COPY it FROM 's3://...', or INSERT the rows (https://docs.aws.amazon.com/redshift/latest/dg/r_COPY.html).",
        )
    raise StatementError("COPY without FROM 's3://...' is not supported by Amazon Redshift", UNSUPPORTED)


def _copy_end(token: Token | None) -> str:
    """How a refusal names a COPY's source or destination: STDIN, STDOUT, PROGRAM or a server file."""
    if token is not None and token.is_word("STDIN", "STDOUT", "PROGRAM"):
        return token.upper
    return "a server file" if token is not None and token.kind == STRING else "this source"


def _source_position(tokens: list[Token]) -> int | None:
    """The index of the 'scheme://...' literal after FROM, or None when the COPY is not from a URI."""
    depth = 0
    for i, token in enumerate(tokens):
        depth += token.is_punct("(") - token.is_punct(")")
        if depth == 0 and token.is_word("FROM"):
            following = tokens[i + 1] if i + 1 < len(tokens) else None
            if following is not None and following.kind == STRING and "://" in following.value:
                scheme = following.value.partition("://")[0]
                return i + 1 if re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme) else None
            return None
    return None


class _CopyParser:
    def __init__(self, tokens: list[Token], source_at: int) -> None:
        self.tokens, self.source_at, self.i = tokens, source_at, 1
        self.seen: set[str] = set()
        self.options: dict[str, Any] = {}
        self.credentials: dict[str, str] = {}

    # --- tokens ------------------------------------------------------------------------------

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token | None:
        token = self.peek()
        self.i += token is not None
        return token

    def take_word(self, *words: str) -> Token | None:
        token = self.peek()
        if token is not None and token.is_word(*words):
            self.i += 1
            return token
        return None

    def string(self, option: str) -> str:
        self.take_word("AS")
        token = self.take()
        if token is None or token.kind != STRING:
            raise StatementError(f"syntax error: {option} needs a quoted string value")
        return token.value

    # --- grammar -----------------------------------------------------------------------------

    def parse(self) -> CopyCommand:
        table = self.table_name()
        token = self.peek()
        columns = self.column_list() if token is not None and token.is_punct("(") else ()
        if not self.take_word("FROM") or self.i != self.source_at:
            raise StatementError("syntax error: expected FROM 's3://...' after the table name and column list")
        token = self.take()
        source = token.value if token is not None else ""
        if not re.fullmatch(r"s3://[^/\s]+(/.*)?", source, re.DOTALL):
            raise StatementError("COPY source must be 's3://bucket/prefix'", INVALID_VALUE)
        self.take_word("WITH")
        while (token := self.take()) is not None:
            if token.is_punct(";"):
                if self.peek() is not None and not all(t.is_punct(";") for t in self.tokens[self.i :]):
                    raise StatementError("a COPY from S3 must be the only statement in its query", UNSUPPORTED)
                break
            self.option(token)
        if "FORMAT" not in self.seen:
            raise StatementError(
                "COPY without FORMAT AS JSON (pipe-delimited text) is not supported by the local emulator", UNSUPPORTED
            )
        return CopyCommand(table, source, columns, self.make_options(), self.make_credentials())

    def make_options(self) -> CopyOptions:
        try:
            return CopyOptions(**self.options)
        except ValueError as error:  # should the model refuse a value the option checks let through
            raise StatementError(str(error), INVALID_VALUE) from None

    def identifier(self, what: str) -> str:
        token = self.take()
        if token is None or token.kind not in (WORD, IDENT):
            raise StatementError(f"syntax error: expected a {what} after COPY")
        name = token.value.lower() if token.kind == WORD else token.value
        try:
            return validate_identifier(name, what)
        except ValueError:
            raise StatementError(
                f"{what} {name[:128]!r} is not supported by the local emulator: "
                "use lower-case letters, digits, underscores and $",
                UNSUPPORTED,
            ) from None

    def table_name(self) -> str:
        token, following = self.peek(), self.tokens[self.i + 1] if self.i + 1 < len(self.tokens) else None
        if token is not None and token.is_punct("#") and following is not None and following.start == token.end:
            return self.temporary_name()  # #name: Redshift's temporary table
        if token is not None and token.kind == IDENT and token.value.startswith("#"):
            return self.temporary_name()
        parts = [self.identifier("table name")]
        while (token := self.peek()) is not None and token.is_punct("."):
            self.take()
            parts.append(self.identifier("table name"))
        if len(parts) > 2:
            raise StatementError("table names of the form database.schema.table are not supported", UNSUPPORTED)
        return ".".join(parts)

    def temporary_name(self) -> str:
        """`#name` or `"#name"`: the session's temporary table "#name", as the statement translator names it
        (https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_TABLE_NEW.html: a name that begins with #)."""
        token = self.take()
        if token is not None and token.kind == IDENT:
            name = token.value[1:]
        else:
            token = self.take()
            if token is None or token.kind not in (WORD, IDENT):
                raise StatementError("syntax error: expected a table name after COPY #")
            name = token.value.lower() if token.kind == WORD else token.value
        try:
            validate_identifier(name, "table name")
        except ValueError:
            raise StatementError(
                f"table name {'#' + name[:127]!r} is not supported by the local emulator: "
                "use lower-case letters, digits, underscores and $",
                UNSUPPORTED,
            ) from None
        if (token := self.peek()) is not None and token.is_punct("."):
            raise StatementError('syntax error at or near ".": a temporary table #name has no schema')
        return "#" + name

    def column_list(self) -> tuple[str, ...]:
        self.take()
        columns = [self.identifier("column name")]
        while (token := self.take()) is not None and token.is_punct(","):
            columns.append(self.identifier("column name"))
        if token is None or not token.is_punct(")"):
            raise StatementError("syntax error: the column list of COPY must end with ')'")
        if len(set(columns)) != len(columns):
            raise StatementError("COPY column list names a column more than once", INVALID_VALUE)
        return tuple(columns)

    def describe(self, token: Token) -> str:
        """The token for an error message. Literals, and words that could be (part of) a key, are not echoed."""
        at = self.tokens.index(token)
        before = self.tokens[at - 1].end < token.start
        after = at + 1 == len(self.tokens) or token.end < self.tokens[at + 1].start or self.tokens[at + 1].is_punct(";")
        if token.kind == WORD and _PLAIN_WORD.fullmatch(token.value) and before and after:
            return f'"{token.value.upper()}"'
        if token.kind == PUNCT and token.value in "(),;=":
            return f'"{token.value}"'
        return {STRING: "a string literal", NUMBER: "a number", IDENT: "a quoted identifier"}.get(token.kind, "a word")

    def once(self, group: str, name: str) -> None:
        if group in self.seen:
            raise StatementError(f"conflicting or redundant options: {name}")
        self.seen.add(group)

    def option(self, token: Token) -> None:
        name = token.upper
        if token.kind != WORD:
            raise StatementError(f"syntax error at or near {self.describe(token)} in the COPY options")
        if name in _HANDLERS:
            _HANDLERS[name](self, name)
        elif name in _UNSUPPORTED_FORMATS:
            raise StatementError(f"COPY format {name} is not supported by the local emulator: only JSON", UNSUPPORTED)
        elif name in _UNSUPPORTED_OPTIONS:
            raise StatementError(f"COPY option {name} is not supported by the local emulator", UNSUPPORTED)
        else:
            raise StatementError(f"syntax error at or near {self.describe(token)} in the COPY options")

    # --- options -----------------------------------------------------------------------------

    def format_(self, name: str) -> None:
        self.take_word("AS")
        token = self.peek()
        if token is not None and token.is_word("JSON"):
            self.take()
            self.json("FORMAT JSON")
        elif token is not None and token.upper in _UNSUPPORTED_FORMATS:
            raise StatementError(
                f"COPY format {token.upper} is not supported by the local emulator: only JSON", UNSUPPORTED
            )
        else:
            raise StatementError("syntax error: FORMAT [AS] must be followed by a format name such as JSON")

    def json(self, name: str) -> None:
        self.once("FORMAT", name)
        self.take_word("AS")
        token = self.peek()
        value = "auto"
        if token is not None and token.kind == STRING:
            self.take()
            value = token.value
        lowered = " ".join(value.lower().split())
        if lowered in ("auto", "auto ignorecase"):
            value = lowered
        elif lowered == "noshred":
            raise StatementError(
                "JSON 'noshred' (loading into SUPER) is not supported by the local emulator", UNSUPPORTED
            )
        elif not value.startswith("s3://"):
            raise StatementError(
                "JSON argument must be 'auto', 'auto ignorecase' or an s3:// jsonpaths file", INVALID_VALUE
            )
        self.options["json_format"] = value

    def flag(self, name: str) -> None:
        self.once(name, name)
        self.options[_FLAGS[name]] = True

    def compression(self, name: str) -> None:
        self.once("COMPRESSION", name)
        self.options["compression"] = name.lower()

    def region(self, name: str) -> None:
        self.once(name, name)
        value = self.string(name)
        if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", value):
            raise StatementError(f"REGION {value[:40]!r} is not an AWS region name such as 'us-west-2'", INVALID_VALUE)
        self.options["region"] = value

    def timeformat(self, name: str) -> None:
        self.once(name, name)
        value = self.string(name)
        if value.lower() not in TIMEFORMATS:
            raise StatementError(
                f"TIMEFORMAT {value[:40]!r} is not supported by the local emulator: "
                "use 'auto', 'epochsecs' or 'epochmillisecs'",
                UNSUPPORTED,
            )
        self.options["timeformat"] = value.lower()

    def accept_inv_chars(self, name: str) -> None:
        self.once(name, name)
        self.take_word("AS")
        token = self.peek()
        char = "?"
        if token is not None and token.kind == STRING:
            self.take()
            char = token.value
        if len(char) != 1 or not " " <= char <= "~":
            raise StatementError("ACCEPTINVCHARS replacement must be one printable ASCII character", INVALID_VALUE)
        if char in "'\\":  # Redshift takes them; the COPY model (sparkify.s3copy.spec) does not
            raise StatementError(
                "ACCEPTINVCHARS with a quote or backslash as the replacement is not supported by the local emulator",
                UNSUPPORTED,
            )
        self.options["accept_inv_chars"] = char

    def max_error(self, name: str) -> None:
        self.once(name, name)
        self.take_word("AS")
        token = self.take()
        if token is None or token.kind != NUMBER or not token.value.isdigit():
            raise StatementError("MAXERROR needs a whole number from 0 to 100000", INVALID_VALUE)
        value = int(token.value)
        if value > MAX_ERROR_LIMIT:
            raise StatementError(f"MAXERROR {value} is out of range: the limit is {MAX_ERROR_LIMIT}", INVALID_VALUE)
        self.options["max_error"] = value

    def on_off(self, name: str) -> None:
        self.once(name, name)
        choices = (*_ON, *_OFF, "PRESET") if name == "COMPUPDATE" else (*_ON, *_OFF)
        token = self.take_word(*choices)
        self.options[name.lower()] = token is None or token.upper not in _OFF  # bare or PRESET: on

    def iam_role(self, name: str) -> None:
        self.once(name, name)
        token = self.take()
        if token is not None and token.is_word("DEFAULT"):
            self.credentials["role_arn"] = "default"
        elif token is not None and token.kind == STRING and token.value:
            self.credentials["role_arn"] = token.value
        else:
            raise StatementError("syntax error: IAM_ROLE needs default or a quoted role ARN")

    def key(self, name: str) -> None:
        self.once(name, name)
        token = self.take()
        if token is None or token.kind != STRING or not token.value:
            raise StatementError(f"syntax error: {name} needs a quoted, non-empty string value")
        self.credentials[_KEYS[name]] = token.value

    def credentials_string(self, name: str) -> None:
        self.once(name, name)
        found: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in self.string(name).split(";"))):
            key, equals, value = (s.strip() for s in part.partition("="))
            field = _CREDENTIAL_FIELDS.get(key.lower())
            if not equals or field is None or not value or field in found:
                raise StatementError(_CREDENTIALS_FORMAT)
            found[field] = value
        for field, value in found.items():
            self.credentials.setdefault(field, value)

    def make_credentials(self) -> Credentials:
        groups: list[str] = [g for g in ("IAM_ROLE", "CREDENTIALS") if g in self.seen]
        if self.seen & {"ACCESS_KEY_ID", "SECRET_ACCESS_KEY", "SESSION_TOKEN"}:
            groups.append("ACCESS_KEY_ID")
        if len(groups) > 1:
            raise StatementError(f"conflicting credentials: use only one of {', '.join(groups)}")
        found = self.credentials
        has_keys = "access_key" in found and "secret_key" in found
        if "role_arn" in found and len(found) == 1 or has_keys and "role_arn" not in found:
            return Credentials(**found)
        if not groups:
            raise StatementError(f"{_CREDENTIALS_FORMAT} (the COPY has no IAM_ROLE, ACCESS_KEY_ID or CREDENTIALS)")
        if groups == ["ACCESS_KEY_ID"]:
            raise StatementError(
                "ACCESS_KEY_ID and SECRET_ACCESS_KEY must be given together (SESSION_TOKEN needs both)"
            )
        raise StatementError(_CREDENTIALS_FORMAT)


_FLAGS = {
    "MANIFEST": "manifest",
    "BLANKSASNULL": "blanks_as_null",
    "EMPTYASNULL": "empty_as_null",
    "TRUNCATECOLUMNS": "truncate_columns",
    "ROUNDEC": "roundec",
    "EXPLICIT_IDS": "explicit_ids",
}
_KEYS = {"ACCESS_KEY_ID": "access_key", "SECRET_ACCESS_KEY": "secret_key", "SESSION_TOKEN": "token"}
_CREDENTIAL_FIELDS = {
    "aws_access_key_id": "access_key",
    "aws_secret_access_key": "secret_key",
    "token": "token",
    "aws_iam_role": "role_arn",
}
_HANDLERS = {
    "FORMAT": _CopyParser.format_,
    "JSON": lambda parser, name: parser.json(name),
    **dict.fromkeys(_FLAGS, _CopyParser.flag),
    **dict.fromkeys((c.upper() for c in COMPRESSIONS), _CopyParser.compression),
    "REGION": _CopyParser.region,
    "TIMEFORMAT": _CopyParser.timeformat,
    "ACCEPTINVCHARS": _CopyParser.accept_inv_chars,
    "MAXERROR": _CopyParser.max_error,
    "COMPUPDATE": _CopyParser.on_off,
    "STATUPDATE": _CopyParser.on_off,
    "IAM_ROLE": _CopyParser.iam_role,
    **dict.fromkeys(_KEYS, _CopyParser.key),
    "CREDENTIALS": _CopyParser.credentials_string,
}
OPTION_KEYWORDS = frozenset(_HANDLERS) | _UNSUPPORTED_OPTIONS | frozenset(_UNSUPPORTED_FORMATS)
