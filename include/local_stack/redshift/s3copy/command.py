"""A parsed `COPY <table> [(<columns>)] FROM 's3://...'`: what to load, from where, how, with which credentials.

How and with which credentials are the product's own model (sparkify.s3copy.spec), the one the
operator renders its COPY from: the emulator parses a COPY back into it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sparkify.s3copy.spec import CopyOptions, Credentials


@dataclass(frozen=True)
class CopyCommand:
    """One COPY statement. `source` is `s3://bucket/key`: a key prefix, or a manifest with MANIFEST."""

    table: str
    source: str
    columns: tuple[str, ...] = ()
    options: CopyOptions = field(default_factory=CopyOptions)
    credentials: Credentials = field(default_factory=Credentials)

    @property
    def bucket(self) -> str:
        return self.source.removeprefix("s3://").partition("/")[0]

    @property
    def key(self) -> str:
        return self.source.removeprefix("s3://").partition("/")[2]
