"""Staging through the object cache: a table filled from copies of its objects kept in the warehouse,
so that runs reading the same object COPY it once (the registry and copy tables: `object_cache`).

``CachedStaging`` is the stage operator's ``object_cache`` argument: the registry and how long an
unused copy is kept. The task hands ``stage()`` its run-time parts (``CacheIO``): its S3 hook, where
to write its scratch objects (a manifest per copied object, a copy of the jsonpaths file) and its logs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from sparkify.durations import parse_duration
from sparkify.identifiers import quote_table
from sparkify.retry_policy import fail_fast
from sparkify.s3copy import object_cache
from sparkify.s3copy.ledger import record_staged
from sparkify.s3copy.objects import S3Object, check_unchanged, manifest_document, read_small_object, request_extra
from sparkify.s3copy.redshift_copy import CopyFailed, rejected_count, run_redshift_copy
from sparkify.s3copy.spec import CopyOptions, CopySpec, Credentials
from sparkify.warehouse import transaction

# The largest jsonpaths file read to sign the copies (one path per column: Redshift tables have at
# most 1,600 columns).
JSONPATHS_MAX_BYTES = 1024 * 1024


@dataclass(frozen=True)
class CacheIO:
    """What a stage task lends the cache while it stages.

    :param s3_hook: Reads the jsonpaths file, writes and deletes the scratch objects, HEADs the copied objects.
    :param scratch: ``(part, suffix)`` → bucket and key of a scratch object the task may write.
    :param log: The task's logger.
    :param log_rejects: Logs the rows the session's last COPY rejected (MAXERROR let it skip them).
    """

    s3_hook: Any
    scratch: Callable[[str, str], tuple[str, str]]
    log: Any
    log_rejects: Callable[[Any], None]


@dataclass(frozen=True)
class CachedStaging:
    """Fill a table from the cached copies of its objects, COPYing the ones not cached yet.

    :param registry: The cache's registry table (``object_cache``), ``table`` or ``schema.table``.
    :param retention: Copies unused for longer are dropped: a ``timedelta``, or minutes or a number
        with ``s``, ``m`` or ``h`` (default ``48h``); kept as a ``timedelta``.
    """

    registry: str
    retention: timedelta | str = "48h"

    def __post_init__(self) -> None:
        quote_table(self.registry)
        object.__setattr__(self, "retention", parse_duration(self.retention, "CachedStaging retention"))

    def stage(
        self,
        hook: Any,
        spec: CopySpec,
        credentials: Credentials,
        objects: Sequence[S3Object],
        io: CacheIO,
        staged_files_table: str | None = None,
        on_rollback: Callable[[Any, BaseException], None] | None = None,
    ) -> int:
        """Load `objects` into spec.table as `spec` says, in one transaction that holds the registry
        (and records them in `staged_files_table`); returns the rows loaded."""
        registry, retention = self.registry, parse_duration(self.retention, "retention")  # a timedelta already
        copy_options = replace(spec.options, manifest=True, statupdate=False)
        jsonpaths = self._read_jsonpaths(io, copy_options)
        with transaction(hook, on_rollback=on_rollback) as cursor:
            object_cache.lock_registry(cursor, registry)
            signature = object_cache.table_signature(cursor, spec.table, copy_options.sql(), jsonpaths)
            names = [object_cache.copy_table_name(registry, o, signature) for o in objects]
            cached = object_cache.registered(cursor, registry, names)
            now = datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC
            missing = [(obj, name) for obj, name in zip(objects, names) if name not in cached]
            for obj, name in zip(objects, names):
                if name in cached:
                    self._log_reuse(io, obj, cached[name], spec.options.max_error)
            if missing:
                with self._pinned_jsonpaths(io, copy_options, jsonpaths) as pinned_options:
                    for obj, name in missing:
                        cached[name] = self._cache_object(io, cursor, spec, pinned_options, credentials, obj, name, now)
                        object_cache.register(cursor, registry, cached[name], obj)
            object_cache.mark_used(cursor, registry, names, now)
            for dropped in object_cache.drop_unused(cursor, registry, now - retention):
                io.log.info("Dropped %s: unused for more than %s", dropped, retention)
            if spec.clear_sql():
                cursor.execute(spec.clear_sql())
            object_cache.fill_from_copies(cursor, spec.table, names)
            if spec.options.statupdate:
                cursor.execute(f"ANALYZE {quote_table(spec.table)}")
            if staged_files_table:
                record_staged(cursor, staged_files_table, objects)
        return sum(cached[name].row_count for name in names)

    @staticmethod
    def _log_reuse(io: CacheIO, obj: S3Object, copy: object_cache.CachedCopy, max_error: int) -> None:
        io.log.info("Reusing %s: %s staged at %s UTC", obj.uri, copy.table, copy.staged_at)
        if copy.rejected:
            io.log.warning(
                "%d row(s) of %s were rejected when it was staged (MAXERROR %d); "
                "stl_load_errors of that load lists them.",
                copy.rejected,
                obj.uri,
                max_error,
            )

    @staticmethod
    def _read_jsonpaths(io: CacheIO, options: CopyOptions) -> bytes | None:
        """The bytes of the jsonpaths file `options` name (None for 'auto'), read once: the copies are
        signed with them and the COPYs read exactly them (`_pinned_jsonpaths`)."""
        uri = options.jsonpaths_uri
        if uri is None:
            return None
        s3 = io.s3_hook
        with fail_fast("Bad jsonpaths file", ValueError):
            version, data = read_small_object(s3.get_conn(), uri, JSONPATHS_MAX_BYTES, **request_extra(s3))
        io.log.info("Read the jsonpaths file %s: ETag %s, %d bytes", uri, version.etag, version.size)
        return data

    @staticmethod
    @contextmanager
    def _pinned_jsonpaths(io: CacheIO, options: CopyOptions, jsonpaths: bytes | None) -> Iterator[CopyOptions]:
        """`options` naming a scratch copy of `jsonpaths`, deleted at the end: the file at the user's URI
        may be edited while the task runs, and a copy must hold the mapping it is signed with. With no
        jsonpaths file, `options` as they are."""
        if jsonpaths is None:
            yield options
            return
        bucket, key = io.scratch(f"jsonpaths-{hashlib.sha256(jsonpaths).hexdigest()[:16]}", "json")
        io.s3_hook.load_bytes(jsonpaths, key=key, bucket_name=bucket, replace=True)
        io.log.info("COPY reads the jsonpaths of %s from its copy s3://%s/%s", options.json_format, bucket, key)
        try:
            yield replace(options, json_format=f"s3://{bucket}/{key}")
        finally:
            io.s3_hook.delete_objects(bucket=bucket, keys=[key])

    @staticmethod
    def _cache_object(
        io: CacheIO,
        cursor: Any,
        spec: CopySpec,
        copy_options: CopyOptions,
        credentials: Credentials,
        obj: S3Object,
        table: str,
        now: datetime,
    ) -> object_cache.CachedCopy:
        """COPY `obj` into a new copy table shaped like the target, through a manifest of it alone."""
        cursor.execute(f"CREATE TABLE {quote_table(table)} (LIKE {quote_table(spec.table)} INCLUDING DEFAULTS)")
        bucket, key = io.scratch(table.rpartition("__")[2], "manifest")
        io.s3_hook.load_bytes(manifest_document([obj]), key=key, bucket_name=bucket, replace=True)
        io.log.info("Wrote the manifest of 1 object(s) to s3://%s/%s", bucket, key)
        try:
            copy_spec = replace(spec, table=table, bucket=bucket, keys=(key,), options=copy_options, method="APPEND")
            try:
                rows = run_redshift_copy(copy_spec, cursor, credentials)
            except CopyFailed as failure:
                raise CopyFailed(f"Staging {obj.uri}: {failure}", failure.data_error) from None
            rejected = rejected_count(cursor)
            # COPY read `obj` by key: keep the copy only if the object is still the version listed.
            check_unchanged(io.s3_hook, obj)
        finally:
            io.s3_hook.delete_objects(bucket=bucket, keys=[key])
        if rejected:
            io.log_rejects(cursor)
        io.log.info("Staged %s into %s: %d rows", obj.uri, table, rows)
        return object_cache.CachedCopy(table, obj.uri, rows, rejected, staged_at=now)
