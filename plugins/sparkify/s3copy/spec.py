"""The COPY specification and its rendering as Redshift SQL.

CopyOptions and Credentials are also what the local Redshift emulator parses a COPY into
(docs/local-stack.md, "What the local stack imports from the product"): one model, two users.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
from typing import Any

from sparkify.identifiers import quote_identifier, quote_table

TIMEFORMATS = ("auto", "epochsecs", "epochmillisecs")
COMPRESSIONS = ("gzip", "bzip2", "zstd")
METHODS = ("REPLACE", "APPEND")
_STRFTIME = re.compile(r"%[a-zA-Z]")


@dataclass(frozen=True)
class Credentials:
    """How Redshift reads S3: an IAM role, or keys with an optional session token."""

    role_arn: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None

    def __repr__(self) -> str:  # never show the secret parts
        return f"Credentials(role_arn={self.role_arn!r}, access_key=***)"

    def sql(self, redacted: bool = False) -> str:
        def hide(value: str) -> str:
            return "***" if redacted else _literal(value)

        if self.role_arn:
            return f"IAM_ROLE {_literal(self.role_arn)}"
        if not (self.access_key and self.secret_key):
            raise ValueError("COPY has no IAM role and the AWS connection has no access keys.")
        clause = f"ACCESS_KEY_ID {hide(self.access_key)} SECRET_ACCESS_KEY {hide(self.secret_key)}"
        return clause + (f" SESSION_TOKEN {hide(self.token)}" if self.token else "")


@dataclass(frozen=True)
class CopyOptions:
    """The JSON-relevant subset of Redshift's COPY options.

    `roundec` and `explicit_ids` (ROUNDEC, EXPLICIT_IDS) are Redshift's data conversion parameters
    (https://docs.aws.amazon.com/redshift/latest/dg/copy-parameters-data-conversion.html).
    """

    json_format: str = "auto"
    timeformat: str | None = None
    blanks_as_null: bool = False
    empty_as_null: bool = False
    truncate_columns: bool = False
    compression: str | None = None
    region: str | None = None
    compupdate: bool | None = None
    statupdate: bool | None = None
    max_error: int = 0
    accept_inv_chars: str | None = None
    manifest: bool = False
    roundec: bool = False
    explicit_ids: bool = False

    def __post_init__(self) -> None:
        # A templated flag renders to a string ("False" is truthy): refuse anything but a bool.
        for name in ("blanks_as_null", "empty_as_null", "truncate_columns", "manifest", "roundec", "explicit_ids"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true or false (a bool), not {getattr(self, name)!r}.")
        for name in ("compupdate", "statupdate"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be true, false or unset (a bool or None), not {getattr(self, name)!r}.")
        for name in ("timeformat", "compression", "region"):
            if getattr(self, name) is not None and not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string, not {getattr(self, name)!r}.")
        char = self.accept_inv_chars
        if char is not None and not (
            isinstance(char, str) and len(char) == 1 and " " <= char <= "~" and char not in "'\\"
        ):
            raise ValueError(f"accept_inv_chars must be one printable ASCII character, not {char!r}.")
        fmt = self.json_format
        if isinstance(self.max_error, bool) or not isinstance(self.max_error, int) or not 0 <= self.max_error <= 100000:
            raise ValueError(f"max_error must be an integer from 0 to 100000, not {self.max_error!r}.")
        if not (fmt in ("auto", "auto ignorecase") or (isinstance(fmt, str) and fmt.startswith("s3://"))):
            raise ValueError(f"json_format must be 'auto', 'auto ignorecase' or an s3:// jsonpaths URI, not {fmt!r}.")
        if self.timeformat is not None and self.timeformat not in TIMEFORMATS:
            raise ValueError(f"timeformat must be one of {TIMEFORMATS}, not {self.timeformat!r}.")
        if self.compression is not None and self.compression not in COMPRESSIONS:
            raise ValueError(f"compression must be one of {COMPRESSIONS}, not {self.compression!r}.")
        if self.region is not None and not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", self.region):
            raise ValueError(f"region {self.region!r} is not an AWS region name such as 'us-west-2'.")

    @property
    def jsonpaths_uri(self) -> str | None:
        """The s3:// URI of the jsonpaths file COPY reads, or None for 'auto'."""
        return self.json_format if self.json_format.startswith("s3://") else None

    def sql(self) -> str:
        parts = [f"FORMAT AS JSON {_literal(self.json_format)}"]
        if self.manifest:
            parts.append("MANIFEST")
        if self.compression:
            parts.append(self.compression.upper())
        if self.region:
            parts.append(f"REGION {_literal(self.region)}")
        if self.timeformat:
            parts.append(f"TIMEFORMAT {_literal(self.timeformat)}")
        parts += [
            name
            for flag, name in (
                (self.blanks_as_null, "BLANKSASNULL"),
                (self.empty_as_null, "EMPTYASNULL"),
                (self.truncate_columns, "TRUNCATECOLUMNS"),
                (self.roundec, "ROUNDEC"),
                (self.explicit_ids, "EXPLICIT_IDS"),
            )
            if flag
        ]
        if self.accept_inv_chars:
            parts.append(f"ACCEPTINVCHARS AS {_literal(self.accept_inv_chars)}")
        if self.max_error:
            parts.append(f"MAXERROR {self.max_error}")
        for value, name in ((self.compupdate, "COMPUPDATE"), (self.statupdate, "STATUPDATE")):
            if value is not None:
                parts.append(f"{name} {'ON' if value else 'OFF'}")
        return " ".join(parts)


# The CopyOptions fields a stage task's `copy_options` may set: its manifest arguments decide MANIFEST.
OPERATOR_OPTIONS = tuple(f.name for f in fields(CopyOptions) if f.name != "manifest")


def copy_option_entries(value: CopyOptions | Mapping[str, Any] | None) -> dict[str, Any]:
    """`value` as a dict keyed by OPERATOR_OPTIONS (a CopyOptions: its fields that differ from the
    default). Any other key, a `manifest` key, or a value that is no mapping is a ValueError."""
    if value is None:
        return {}
    if isinstance(value, CopyOptions):
        if value.manifest:
            raise ValueError("copy_options cannot set manifest: the manifest and manifest_location arguments do.")
        return {f.name: getattr(value, f.name) for f in fields(value) if getattr(value, f.name) != f.default}
    if not isinstance(value, Mapping):
        raise ValueError(
            f"copy_options must be a CopyOptions or a mapping keyed by {', '.join(OPERATOR_OPTIONS)}, "
            f"not {type(value).__name__} (Redshift's option text is not accepted)."
        )
    if "manifest" in value:
        raise ValueError("copy_options cannot set manifest: the manifest and manifest_location arguments do.")
    unknown = sorted(str(key) for key in value if key not in OPERATOR_OPTIONS)
    if unknown:
        raise ValueError(
            f"copy_options has unknown key(s) {', '.join(unknown)}; allowed: {', '.join(OPERATOR_OPTIONS)}."
        )
    return dict(value)


def copy_options_from(value: CopyOptions | Mapping[str, Any] | None, manifest: bool = False) -> CopyOptions:
    """The CopyOptions of a stage task's (rendered) `copy_options`; an empty region means none."""
    entries = copy_option_entries(value)
    if "region" in entries:
        entries["region"] = entries["region"] or None
    return CopyOptions(**entries, manifest=manifest)


@dataclass(frozen=True)
class CopySpec:
    """Load every object under each of `keys` (prefixes) in `bucket` into `table`."""

    table: str
    bucket: str
    keys: tuple[str, ...]
    columns: tuple[str, ...] = ()
    options: CopyOptions = field(default_factory=CopyOptions)
    method: str = "REPLACE"

    def __post_init__(self) -> None:
        quote_table(self.table)
        for column in self.columns:
            quote_identifier(column, "column name")
        if not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", self.bucket or ""):
            raise ValueError(f"{self.bucket!r} is not a valid S3 bucket name.")
        if not self.keys or any(not isinstance(k, str) or "'" in k for k in self.keys):
            raise ValueError(f"Invalid S3 keys {self.keys!r}: give at least one key without quotes.")
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}.")

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def clear_sql(self) -> str | None:
        """The statement run before the COPYs, in the same transaction (Redshift's TRUNCATE would commit)."""
        return f"DELETE FROM {quote_table(self.table)}" if self.method == "REPLACE" else None

    def copy_sql(self, key: str, credentials: Credentials, redacted: bool = False) -> str:
        columns = f" ({', '.join(quote_identifier(c) for c in self.columns)})" if self.columns else ""
        return (
            f"COPY {quote_table(self.table)}{columns}\n"
            f"FROM {_literal(self.uri(key))}\n"
            f"{credentials.sql(redacted)}\n"
            f"{self.options.sql()}"
        )


def expand_keys(s3_key: str | Sequence[str], days: Sequence[date]) -> tuple[str, ...]:
    """Expand strftime directives (`%Y`, `%m`, `%d`, ...) once per day; keep order, drop repeats."""
    patterns = [s3_key] if isinstance(s3_key, str) else list(s3_key)
    keys: dict[str, None] = {}
    for pattern in patterns:
        if _STRFTIME.search(pattern):
            for day in days:
                keys[day.strftime(pattern)] = None
        else:
            keys[pattern] = None
    return tuple(keys)


def _literal(value: str) -> str:
    """A SQL string literal. Redshift treats backslash as an escape, so it is refused outright."""
    if "\\" in value:
        raise ValueError("Backslashes are not allowed in COPY string values (keys, URIs, options).")
    return "'" + value.replace("'", "''") + "'"
