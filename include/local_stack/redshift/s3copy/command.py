"""A parsed `COPY <table> [(<columns>)] FROM 's3://...'`: what to load, from where, how, with which credentials."""

from __future__ import annotations

from dataclasses import dataclass, field

TIMEFORMATS = ("auto", "epochsecs", "epochmillisecs")
COMPRESSIONS = ("gzip", "bzip2", "zstd")


@dataclass(frozen=True)
class CopyOptions:
    """The options of a JSON COPY that change what is loaded (Redshift's names, lower-cased)."""

    json_format: str = "auto"  # 'auto', 'auto ignorecase' or the s3:// URI of a jsonpaths file
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


@dataclass(frozen=True)
class Credentials:
    """How the cluster reads S3. Never printed: repr hides the secret parts."""

    role_arn: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    token: str | None = None

    def __repr__(self) -> str:
        return f"Credentials(role_arn={self.role_arn!r}, access_key=***)"

    def secrets(self) -> tuple[str, ...]:
        return tuple(s for s in (self.access_key, self.secret_key, self.token) if s)


@dataclass(frozen=True)
class CopyCommand:
    """One COPY statement. `source` is `s3://bucket/key`: a key prefix, or a manifest with MANIFEST."""

    table: str
    source: str
    columns: tuple[str, ...] = ()
    options: CopyOptions = field(default_factory=CopyOptions)
    credentials: Credentials = field(default_factory=Credentials)
    # Options the emulator runs that the operator's spec (sparkify.s3copy.spec) does not render:
    roundec: bool = False  # ROUNDEC: decimals rounded to the column's scale instead of truncated
    explicit_ids: bool = False  # EXPLICIT_IDS: IDENTITY columns loaded from the data

    @property
    def bucket(self) -> str:
        return self.source.removeprefix("s3://").partition("/")[0]

    @property
    def key(self) -> str:
        return self.source.removeprefix("s3://").partition("/")[2]
