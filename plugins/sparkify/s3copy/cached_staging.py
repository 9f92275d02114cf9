"""Staging through the object cache: a table filled from copies of its objects kept in the warehouse,
so that runs reading the same object COPY it once (the registry and copy tables: `object_cache`).

The strategy the stage operator uses with ``cache_table``; it runs in the operator's transaction
helper and writes its scratch objects (a manifest per copied object, a copy of the jsonpaths file)
where the operator tells it to.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any

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


@dataclass
class CachedStaging:
    """Fill a table from the cached copies of its objects, COPYing the ones not cached yet.

    :param registry: The cache's registry table (``object_cache``).
    :param retention: Copies unused for longer are dropped.
    :param s3_hook: Reads the jsonpaths file, writes and deletes the scratch objects, HEADs the copied objects.
    :param scratch: ``(part, suffix)`` → bucket and key of a scratch object the task may write.
    :param log: The task's logger.
    :param log_rejects: Logs the rows the session's last COPY rejected (MAXERROR let it skip them).
    :param max_error: The COPY's MAXERROR, named when a reused copy had rejected rows.
    """

    registry: str
    retention: timedelta
    s3_hook: Any
    scratch: Callable[[str, str], tuple[str, str]]
    log: Any
    log_rejects: Callable[[Any], None]
    max_error: int = 0

    def stage(
        self,
        hook: Any,
        spec: CopySpec,
        credentials: Credentials,
        objects: Sequence[S3Object],
        staged_files_table: str | None = None,
        on_rollback: Callable[[Any, BaseException], None] | None = None,
    ) -> int:
        """Load `objects` into spec.table as `spec` says, in one transaction that holds the registry
        (and records them in `staged_files_table`); returns the rows loaded."""
        registry = self.registry
        copy_options = replace(spec.options, manifest=True, statupdate=False)
        jsonpaths = self._read_jsonpaths(copy_options)
        with transaction(hook, on_rollback=on_rollback) as cursor:
            object_cache.lock_registry(cursor, registry)
            signature = object_cache.table_signature(cursor, spec.table, copy_options.sql(), jsonpaths)
            names = [object_cache.copy_table_name(registry, o, signature) for o in objects]
            cached = object_cache.registered(cursor, registry, names)
            now = datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC
            missing = [(obj, name) for obj, name in zip(objects, names) if name not in cached]
            for obj, name in zip(objects, names):
                if name in cached:
                    self._log_reuse(obj, cached[name])
            if missing:
                with self._pinned_jsonpaths(copy_options, jsonpaths) as pinned_options:
                    for obj, name in missing:
                        cached[name] = self._cache_object(cursor, spec, pinned_options, credentials, obj, name, now)
                        object_cache.register(cursor, registry, cached[name], obj)
            object_cache.mark_used(cursor, registry, names, now)
            for dropped in object_cache.drop_unused(cursor, registry, now - self.retention):
                self.log.info("Dropped %s: unused for more than %s", dropped, self.retention)
            if spec.clear_sql():
                cursor.execute(spec.clear_sql())
            object_cache.fill_from_copies(cursor, spec.table, names)
            if spec.options.statupdate:
                cursor.execute(f"ANALYZE {quote_table(spec.table)}")
            if staged_files_table:
                record_staged(cursor, staged_files_table, objects)
        return sum(cached[name].row_count for name in names)

    def _log_reuse(self, obj: S3Object, copy: object_cache.CachedCopy) -> None:
        self.log.info("Reusing %s: %s staged at %s UTC", obj.uri, copy.table, copy.staged_at)
        if copy.rejected:
            self.log.warning(
                "%d row(s) of %s were rejected when it was staged (MAXERROR %d); "
                "stl_load_errors of that load lists them.",
                copy.rejected,
                obj.uri,
                self.max_error,
            )

    def _read_jsonpaths(self, options: CopyOptions) -> bytes | None:
        """The bytes of the jsonpaths file `options` name (None for 'auto'), read once: the copies are
        signed with them and the COPYs read exactly them (`_pinned_jsonpaths`)."""
        uri = options.jsonpaths_uri
        if uri is None:
            return None
        s3 = self.s3_hook
        with fail_fast("Bad jsonpaths file", ValueError):
            version, data = read_small_object(s3.get_conn(), uri, JSONPATHS_MAX_BYTES, **request_extra(s3))
        self.log.info("Read the jsonpaths file %s: ETag %s, %d bytes", uri, version.etag, version.size)
        return data

    @contextmanager
    def _pinned_jsonpaths(self, options: CopyOptions, jsonpaths: bytes | None) -> Iterator[CopyOptions]:
        """`options` naming a scratch copy of `jsonpaths`, deleted at the end: the file at the user's URI
        may be edited while the task runs, and a copy must hold the mapping it is signed with. With no
        jsonpaths file, `options` as they are."""
        if jsonpaths is None:
            yield options
            return
        bucket, key = self.scratch(f"jsonpaths-{hashlib.sha256(jsonpaths).hexdigest()[:16]}", "json")
        self.s3_hook.load_bytes(jsonpaths, key=key, bucket_name=bucket, replace=True)
        self.log.info("COPY reads the jsonpaths of %s from its copy s3://%s/%s", options.json_format, bucket, key)
        try:
            yield replace(options, json_format=f"s3://{bucket}/{key}")
        finally:
            self.s3_hook.delete_objects(bucket=bucket, keys=[key])

    def _cache_object(
        self,
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
        bucket, key = self.scratch(table.rpartition("__")[2], "manifest")
        self.s3_hook.load_bytes(manifest_document([obj]), key=key, bucket_name=bucket, replace=True)
        self.log.info("Wrote the manifest of 1 object(s) to s3://%s/%s", bucket, key)
        try:
            copy_spec = replace(spec, table=table, bucket=bucket, keys=(key,), options=copy_options, method="APPEND")
            try:
                rows = run_redshift_copy(copy_spec, cursor, credentials)
            except CopyFailed as failure:
                raise CopyFailed(f"Staging {obj.uri}: {failure}", failure.data_error) from None
            rejected = rejected_count(cursor)
            # COPY read `obj` by key: keep the copy only if the object is still the version listed.
            check_unchanged(self.s3_hook, obj)
        finally:
            self.s3_hook.delete_objects(bucket=bucket, keys=[key])
        if rejected:
            self.log_rejects(cursor)
        self.log.info("Staged %s into %s: %d rows", obj.uri, table, rows)
        return object_cache.CachedCopy(table, obj.uri, rows, rejected, staged_at=now)
