"""StageToRedshiftOperator: S3 JSON into a staging table with Redshift's COPY."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from sparkify.durations import parse_duration
from sparkify.identifiers import quote_identifier, quote_table, validate_identifier
from sparkify.operators.warehouse_operator import WarehouseOperator
from sparkify.retry_policy import fail_fast
from sparkify.s3copy import object_cache
from sparkify.s3copy.ledger import record_staged, unloaded_objects
from sparkify.s3copy.listing import (
    is_recent,
    listed_at,
    listing_source,
    lock_listing,
    record_listing,
    unloaded_listed_objects,
)
from sparkify.s3copy.objects import (
    S3Object,
    check_unchanged,
    manifest_document,
    read_small_object,
    request_extra,
    select_objects,
    split_s3_url,
)
from sparkify.s3copy.redshift_copy import (
    CopyFailed,
    copy_credentials,
    rejected_count,
    rejected_rows,
    run_redshift_copy,
)
from sparkify.s3copy.spec import CopyOptions, CopySpec, expand_keys
from sparkify.warehouse import execute as execute_sql
from sparkify.warehouse import transaction
from sparkify.window import RunWindow, run_window

if TYPE_CHECKING:
    from airflow.sdk import Context

# The largest jsonpaths file the cache reads to sign its copies (one path per column: Redshift
# tables have at most 1,600 columns).
JSONPATHS_MAX_BYTES = 1024 * 1024


class StageToRedshiftOperator(WarehouseOperator):
    """
    Load JSON objects from S3 into a staging table with ``COPY ... FORMAT AS JSON``, replacing its
    contents in one transaction.

    Without ``manifest_location``, each key is handed to COPY as Redshift reads it: a key prefix.
    With it, the task selects the objects itself (a key names the object with exactly that key if
    there is one, else every object under it as a prefix; with ``ledger_table``, only new or changed
    objects), writes a manifest of exactly those objects and runs one ``COPY ... MANIFEST``. The
    manifest is deleted when the task ends.

    A COPY that rejects more rows than ``max_error`` fails the task at once (no retry can fix the
    file), after logging the rejected rows from ``stl_load_errors``; connection and S3 errors raise
    normally, so the task's retries apply.

    :param table: Target table, ``table`` or ``schema.table``. (templated)
    :param s3_bucket: Source bucket. (templated)
    :param s3_key: Key or key prefix, or a list of them. strftime directives such as
        ``%Y/%m/%Y-%m-%d`` expand once for every UTC day of the run's window. (templated)
    :param json_format: ``'auto'``, ``'auto ignorecase'`` or the ``s3://`` URI of a jsonpaths file. (templated)
    :param column_list: Target columns; by default all columns of the table, in order.
    :param timeformat: ``'epochmillisecs'``, ``'epochsecs'`` or ``'auto'`` for TIMESTAMP columns.
    :param blanks_as_null: Load white-space-only strings as NULL (BLANKSASNULL).
    :param empty_as_null: Load empty strings as NULL (EMPTYASNULL).
    :param truncate_columns: Truncate strings longer than their column (TRUNCATECOLUMNS).
    :param compression: ``'gzip'``, ``'bzip2'`` or ``'zstd'`` for compressed objects.
    :param region: Region of the bucket when it differs from the cluster's. (templated)
    :param manifest: Treat each key as a manifest file listing the objects to load (MANIFEST).
    :param accept_inv_chars: Replace each byte of invalid UTF-8 with this character (ACCEPTINVCHARS).
    :param max_error: MAXERROR: how many rows may be rejected before the load fails (default 0).
        Rejected rows are in ``stl_load_errors`` and in the task log.
    :param compupdate: COMPUPDATE ON/OFF.
    :param statupdate: STATUPDATE ON/OFF.
    :param method: ``'REPLACE'`` (default) empties the table first; ``'APPEND'`` keeps its rows.
    :param manifest_location: ``s3://bucket/prefix/`` where the task may write its manifest (the
        source bucket may be read-only). Required with ``ledger_table``. (templated)
    :param ledger_table: Incremental staging: skip objects whose key, ETag and size this table
        (s3_key, etag, size) already records. Something downstream must update it.
    :param staged_files_table: Table that receives the (s3_key, etag, size) of the staged
        objects, in the same transaction as the load. (templated)
    :param ignore_ledger: Stage every object even with a ledger (full refresh). (templated)
    :param listing_table: With ``ledger_table``: keep the listing of the source in this table
        (source, s3_key, etag, size, listed_at) and select the new or changed objects by comparing
        it with the ledger in the warehouse. Tasks list the source one at a time (``LOCK TABLE``).
    :param listing_max_age: With ``listing_table``: reuse a listing of the same source made less
        than this long ago instead of listing S3 again, so a run costs what its new objects cost. An
        object uploaded after that listing waits for a later listing. A ``timedelta``, or minutes
        or a number with ``s``, ``m`` or ``h`` (``"15m"``); ``0`` (default) lists every time.
        A full refresh always lists. (templated)
    :param cache_table: Keep a copy of each staged object in the warehouse, registered in this table
        (``sparkify.s3copy.object_cache``), and fill ``table`` from the copies: a task that stages an
        object whose URI, ETag and size were staged before, with the same options and jsonpaths file
        contents into a table of the same columns, inserts the copy's rows instead of running COPY
        again. For the hourly runs of a backfill, which read the same day file 24 times. The COPY
        reads a copy of the jsonpaths bytes the task signed, written under ``manifest_location``; an
        object whose ETag or size differs after its COPY from the listing fails the task with
        ``SourceChanged`` (retried: the retry lists it again) and nothing is cached. Needs
        ``manifest_location``; not with ``ledger_table``. Copies unused for ``cache_retention`` are dropped.
    :param cache_retention: How long an unused copy is kept: a ``timedelta``, or minutes or a number
        with ``s``, ``m`` or ``h`` (default ``48h``). (templated)
    :param time_column: Column of ``table`` that places a row in a window (e.g. ``ts``); with
        ``window_count_sql``, the task logs how many staged rows lie in the run's window.
    :param window_count_sql: Query counting the rows of ``table`` in the window, or a ``.sql`` file
        (``include/sql/staged_rows_in_window.sql``): ``{table}`` and ``{time_column}`` are replaced by
        the quoted table and column, ``%(window_start)s`` and ``%(window_end)s`` are the window's bounds.
        The task then logs "N rows of the day file ..., M in the window ..." (with ``APPEND``, M counts
        the table's earlier rows too). (templated)
    :param redshift_conn_id: Warehouse connection, of type ``redshift``. (templated)
    :param aws_conn_id: AWS connection the task lists S3 and writes manifests with and, with no IAM
        role, whose keys COPY uses. (templated)
    :param iam_role: ARN of the role Redshift assumes for COPY (``IAM_ROLE``); empty: the AWS
        connection's keys. Kept apart from the connection, because the Amazon provider assumes
        a connection's ``role_arn`` for every call it makes, and a role that trusts only
        Redshift cannot be assumed by the task. (templated)
    """

    template_fields: Sequence[str] = (
        "table",
        "s3_bucket",
        "s3_key",
        "json_format",
        "region",
        "manifest_location",
        "staged_files_table",
        "ignore_ledger",
        "listing_max_age",
        "cache_retention",
        "window_count_sql",
        "redshift_conn_id",
        "aws_conn_id",
        "iam_role",
    )
    template_ext: Sequence[str] = (".sql",)
    template_fields_renderers = {"window_count_sql": "sql"}
    ui_color = "#358140"

    def __init__(
        self,
        *,
        table: str,
        s3_bucket: str,
        s3_key: str | Sequence[str],
        json_format: str = "auto",
        column_list: Sequence[str] | None = None,
        timeformat: str | None = None,
        blanks_as_null: bool = False,
        empty_as_null: bool = False,
        truncate_columns: bool = False,
        compression: str | None = None,
        region: str | None = None,
        manifest: bool = False,
        accept_inv_chars: str | None = None,
        max_error: int = 0,
        compupdate: bool | None = None,
        statupdate: bool | None = None,
        method: str = "REPLACE",
        manifest_location: str | None = None,
        ledger_table: str | None = None,
        staged_files_table: str | None = None,
        ignore_ledger: bool | str = False,
        listing_table: str | None = None,
        listing_max_age: timedelta | str = "0",
        cache_table: str | None = None,
        cache_retention: timedelta | str = "48h",
        time_column: str | None = None,
        window_count_sql: str | None = None,
        redshift_conn_id: str = "redshift",
        aws_conn_id: str = "aws_default",
        iam_role: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(redshift_conn_id=redshift_conn_id, **kwargs)
        self.table = table
        self.s3_bucket = s3_bucket
        self.s3_key = s3_key
        self.json_format = json_format
        self.column_list = tuple(column_list or ())
        self.timeformat = timeformat
        self.blanks_as_null = blanks_as_null
        self.empty_as_null = empty_as_null
        self.truncate_columns = truncate_columns
        self.compression = compression
        self.region = region
        self.manifest = manifest
        self.accept_inv_chars = accept_inv_chars
        self.max_error = max_error
        self.compupdate = compupdate
        self.statupdate = statupdate
        self.method = method
        self.manifest_location = manifest_location
        self.ledger_table = ledger_table
        self.staged_files_table = staged_files_table
        self.ignore_ledger = ignore_ledger
        self.listing_table = listing_table
        self.listing_max_age = listing_max_age
        self.cache_table = cache_table
        self.cache_retention = cache_retention
        self.time_column = validate_identifier(time_column, "time column") if time_column is not None else None
        self.window_count_sql = window_count_sql
        self.aws_conn_id = aws_conn_id
        self.iam_role = iam_role
        if "{{" not in json_format and "{{" not in (region or ""):
            self._options()  # fail at parse time on a bad literal option
        if ledger_table and not manifest_location:
            raise ValueError(
                "ledger_table needs manifest_location: the selected objects are loaded through a manifest."
            )
        if listing_table and not ledger_table:
            raise ValueError("listing_table needs ledger_table: the listing is compared with the ledger.")
        if cache_table and (not manifest_location or ledger_table):
            raise ValueError(
                "cache_table needs manifest_location (each object is copied through its own manifest) "
                "and no ledger_table (a ledger already stages each object once)."
            )
        if cache_table:
            quote_table(cache_table)
        if (time_column is None) != (window_count_sql is None):
            raise ValueError("time_column and window_count_sql go together: the query counts the rows by that column.")
        if manifest and manifest_location:
            raise ValueError("manifest=True loads your manifests; manifest_location is for the task's own.")
        if manifest_location and "{{" not in manifest_location:
            split_s3_url(manifest_location)

    def _options(self) -> CopyOptions:
        return CopyOptions(
            json_format=self.json_format,
            timeformat=self.timeformat,
            blanks_as_null=self.blanks_as_null,
            empty_as_null=self.empty_as_null,
            truncate_columns=self.truncate_columns,
            compression=self.compression,
            region=self.region or None,
            manifest=self.manifest,
            accept_inv_chars=self.accept_inv_chars,
            max_error=self.max_error,
            compupdate=self.compupdate,
            statupdate=self.statupdate,
        )

    def build_spec(self, days: Sequence) -> CopySpec:
        """The COPY specification for a window that touches `days`."""
        return CopySpec(
            table=self.table,
            bucket=self.s3_bucket,
            keys=expand_keys(self.s3_key, days),
            columns=self.column_list,
            options=self._options(),
            method=self.method,
        )

    def execute(self, context: Context) -> int:
        from sparkify.s3_hook import CallerNamedS3Hook

        window = run_window(context)
        # Templated settings (bucket, keys, region, IAM role, connections) that are wrong stay wrong.
        with fail_fast("Bad configuration", ValueError, AirflowNotFoundException):
            spec = self.build_spec(window.days())
            self._lineage_source = spec  # the keys as given, before a manifest replaces them
            if self.manifest_location:
                split_s3_url(self.manifest_location)
            self.log.info("Staging %s for window %s from %s", spec.table, window, ", ".join(map(spec.uri, spec.keys)))
            credentials = copy_credentials(self.aws_conn_id, self.iam_role)
            max_age = parse_duration(self.listing_max_age, "listing_max_age")
            retention = parse_duration(self.cache_retention, "cache_retention")
        s3_hook = CallerNamedS3Hook(
            aws_conn_id=self.aws_conn_id, region_name=spec.options.region, caller=type(self).__name__
        )
        hook = self.get_db_hook()
        objects = self._selected_objects(hook, s3_hook, spec, max_age) if self.manifest_location else None
        if self.cache_table and objects:
            rows = self._stage_through_cache(hook, s3_hook, spec, credentials, objects, retention, context)
            self.log.info("Loaded %d rows into %s", rows, spec.table)
            self._log_window_rows(hook, window, rows, [o.uri for o in objects])
            self._lineage_rows = rows
            return rows
        sources = [o.uri for o in objects] if objects is not None else [spec.uri(key) for key in spec.keys]
        manifest_key = None
        try:
            if objects:
                manifest_bucket, manifest_key = self._write_manifest(s3_hook, objects, context)
                spec = replace(
                    spec, bucket=manifest_bucket, keys=(manifest_key,), options=replace(spec.options, manifest=True)
                )
            rows = self._copy(hook, spec, credentials, objects)
        finally:
            if manifest_key:
                s3_hook.delete_objects(bucket=manifest_bucket, keys=[manifest_key])
        self.log.info("Loaded %d rows into %s", rows, spec.table)
        self._log_window_rows(hook, window, rows, sources)
        self._lineage_rows = rows
        return rows

    def build_window_count_query(self) -> str | None:
        """The query counting the table's rows in the window (``window_count_sql`` with its identifiers filled)."""
        if self.window_count_sql is None or self.time_column is None:
            return None
        return self.window_count_sql.format(
            table=quote_table(self.table), time_column=quote_identifier(self.time_column, "time column")
        )

    def _log_window_rows(self, hook: Any, window: RunWindow, rows: int, sources: Sequence[str]) -> int | None:
        """Log how many of the staged rows lie in the run's window: "N rows of the day file ..., M in the window"."""
        query = self.build_window_count_query()
        if query is None:
            return None
        with transaction(hook) as cursor:
            execute_sql(cursor, query, window.sql_parameters())
            in_window = int(cursor.fetchone()[0])
        dated = any("%" in key for key in ([self.s3_key] if isinstance(self.s3_key, str) else self.s3_key))
        noun = "day file" if dated else "file"
        if len(sources) == 1:
            files = f"the {noun} {sources[0]}"
        else:
            files = f"the {len(sources)} {noun}s {', '.join(sources)}".rstrip()
        self.log.info("%d rows of %s, %d in the %s", rows, files, in_window, window.note())  # "window 2018-11-15 …"
        return in_window

    def build_lineage(self, with_schemas: bool = True):
        """OpenLineage: the S3 keys or prefixes read, as S3ToRedshiftOperator reports them, and the tables written
        (with their schema, OVERWRITE for ``REPLACE`` and the rows loaded); with a ledger, it is read too."""
        from sparkify import lineage

        source = getattr(self, "_lineage_source", None)  # None: the task failed before it had a window
        inputs = [lineage.s3_input(source.bucket, key) for key in source.keys] if source else []
        warehouse = lineage.Warehouse.from_connection(self.redshift_conn_id)
        written = [self.table, *([self.staged_files_table] if self.staged_files_table else [])]
        ledger = [self.ledger_table] if self.ledger_table and not _as_bool(self.ignore_ledger, "ignore_ledger") else []
        schemas = lineage.schema_facets(self.redshift_conn_id if with_schemas else None, warehouse, written)
        staged = warehouse.output(
            self.table,
            lineage.dataset_facets(schemas, self.table, self.method == "REPLACE"),
            lineage.row_count_facets(getattr(self, "_lineage_rows", None)),
        )
        outputs = [
            staged,
            *(warehouse.output(t, lineage.dataset_facets(schemas, t, overwrite=True)) for t in written[1:]),
        ]
        return lineage.operator_lineage([*inputs, *map(warehouse.input, ledger)], outputs)

    def _selected_objects(self, hook: Any, s3_hook: Any, spec: CopySpec, max_age: timedelta) -> list[S3Object]:
        full_refresh = bool(self.ledger_table) and _as_bool(self.ignore_ledger, "ignore_ledger")
        if self.listing_table:
            return self._selected_by_listing(hook, s3_hook, spec, max_age, full_refresh)
        listed = select_objects(s3_hook, spec.bucket, spec.keys)
        if not self.ledger_table:
            return listed
        if full_refresh:
            self.log.info("Full refresh: staging all %d object(s), ignoring %s", len(listed), self.ledger_table)
            return listed
        with transaction(hook) as cursor:
            selected = unloaded_objects(cursor, self.ledger_table, listed)
        self.log.info("%d of %d object(s) are new or changed since %s", len(selected), len(listed), self.ledger_table)
        return selected

    def _selected_by_listing(
        self, hook: Any, s3_hook: Any, spec: CopySpec, max_age: timedelta, full_refresh: bool
    ) -> list[S3Object]:
        """List the source into listing_table (or reuse a listing younger than `max_age`; a full refresh
        always lists), then compare it with the ledger there."""
        table, ledger = str(self.listing_table), str(self.ledger_table)
        source = listing_source([spec.uri(key) for key in spec.keys])
        max_age = timedelta(0) if full_refresh else max_age
        with transaction(hook) as cursor:
            lock_listing(cursor, table)
            now = datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC
            previous = listed_at(cursor, table, source)
            if is_recent(previous, now, max_age):
                listed = None
                self.log.info("Reusing the listing of %s made at %s UTC (max age %s)", source, previous, max_age)
            else:
                listed = select_objects(s3_hook, spec.bucket, spec.keys)
                record_listing(cursor, table, source, listed, now)
                self.log.info("Listed %d object(s) of %s into %s", len(listed), source, table)
        if full_refresh and listed is not None:
            self.log.info("Full refresh: staging all %d object(s), ignoring %s", len(listed), ledger)
            return listed
        with transaction(hook) as cursor:
            selected = unloaded_listed_objects(cursor, table, ledger, source, spec.bucket)
        self.log.info("%d object(s) of the listing are new or changed since %s", len(selected), ledger)
        return selected

    def _stage_through_cache(
        self,
        hook: Any,
        s3_hook: Any,
        spec: CopySpec,
        credentials,
        objects: list[S3Object],
        retention: timedelta,
        context: Context,
    ) -> int:
        """Fill the table from the cached copies of `objects`, COPYing the ones not cached yet, in one
        transaction that holds the cache's registry; copies unused for `retention` are dropped."""
        registry = str(self.cache_table)
        copy_options = replace(spec.options, manifest=True, statupdate=False)
        jsonpaths = self._read_jsonpaths(s3_hook, copy_options)
        with self._load_transaction(hook) as cursor:
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
                with self._pinned_jsonpaths(s3_hook, copy_options, jsonpaths, context) as pinned_options:
                    for obj, name in missing:
                        cached[name] = self._cache_object(
                            cursor, s3_hook, spec, pinned_options, credentials, obj, name, now, context
                        )
                        object_cache.register(cursor, registry, cached[name], obj)
            object_cache.mark_used(cursor, registry, names, now)
            for dropped in object_cache.drop_unused(cursor, registry, now - retention):
                self.log.info("Dropped %s: unused for more than %s", dropped, retention)
            if spec.clear_sql():
                cursor.execute(spec.clear_sql())
            object_cache.fill_from_copies(cursor, spec.table, names)
            if spec.options.statupdate:
                cursor.execute(f"ANALYZE {quote_table(spec.table)}")
            if self.staged_files_table:
                record_staged(cursor, self.staged_files_table, objects)
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

    def _read_jsonpaths(self, s3_hook: Any, options: CopyOptions) -> bytes | None:
        """The bytes of the jsonpaths file `options` name (None for 'auto'), read once: the cache signs
        its copies with them and the COPYs read exactly them (`_pinned_jsonpaths`)."""
        uri = options.jsonpaths_uri
        if uri is None:
            return None
        with fail_fast("Bad jsonpaths file", ValueError):
            version, data = read_small_object(s3_hook.get_conn(), uri, JSONPATHS_MAX_BYTES, **request_extra(s3_hook))
        self.log.info("Read the jsonpaths file %s: ETag %s, %d bytes", uri, version.etag, version.size)
        return data

    @contextmanager
    def _pinned_jsonpaths(
        self, s3_hook: Any, options: CopyOptions, jsonpaths: bytes | None, context: Context
    ) -> Iterator[CopyOptions]:
        """`options` naming a copy of `jsonpaths` under manifest_location, deleted at the end: the file
        at the user's URI may be edited while the task runs, and a copy must hold the mapping it is
        signed with. With no jsonpaths file, `options` as they are."""
        if jsonpaths is None:
            yield options
            return
        digest = hashlib.sha256(jsonpaths).hexdigest()[:16]
        bucket, key = self._task_object_key(context, part=f"jsonpaths-{digest}", suffix="json")
        s3_hook.load_bytes(jsonpaths, key=key, bucket_name=bucket, replace=True)
        self.log.info("COPY reads the jsonpaths of %s from its copy s3://%s/%s", options.json_format, bucket, key)
        try:
            yield replace(options, json_format=f"s3://{bucket}/{key}")
        finally:
            s3_hook.delete_objects(bucket=bucket, keys=[key])

    def _cache_object(
        self,
        cursor: Any,
        s3_hook: Any,
        spec: CopySpec,
        copy_options: CopyOptions,
        credentials,
        obj: S3Object,
        table: str,
        now: datetime,
        context: Context,
    ) -> object_cache.CachedCopy:
        """COPY `obj` into a new copy table shaped like the target, through a manifest of it alone."""
        cursor.execute(f"CREATE TABLE {quote_table(table)} (LIKE {quote_table(spec.table)} INCLUDING DEFAULTS)")
        bucket, key = self._write_manifest(s3_hook, [obj], context, part=table.rpartition("__")[2])
        try:
            copy_spec = replace(spec, table=table, bucket=bucket, keys=(key,), options=copy_options, method="APPEND")
            try:
                rows = run_redshift_copy(copy_spec, cursor, credentials)
            except CopyFailed as failure:
                raise CopyFailed(f"Staging {obj.uri}: {failure}", failure.data_error) from None
            rejected = rejected_count(cursor)
            # COPY read `obj` by key: keep the copy only if the object is still the version listed.
            check_unchanged(s3_hook, obj)
        finally:
            s3_hook.delete_objects(bucket=bucket, keys=[key])
        if rejected:
            self._log_rejects(cursor, failed=False)
        self.log.info("Staged %s into %s: %d rows", obj.uri, table, rows)
        return object_cache.CachedCopy(table, obj.uri, rows, rejected, staged_at=now)

    def _write_manifest(
        self, s3_hook: Any, objects: list[S3Object], context: Context, part: str | None = None
    ) -> tuple[str, str]:
        """Write the manifest of `objects` under manifest_location; returns its bucket and key."""
        bucket, key = self._task_object_key(context, part, suffix="manifest")
        s3_hook.load_bytes(manifest_document(objects), key=key, bucket_name=bucket, replace=True)
        self.log.info("Wrote the manifest of %d object(s) to s3://%s/%s", len(objects), bucket, key)
        return bucket, key

    def _task_object_key(self, context: Context, part: str | None, suffix: str) -> tuple[str, str]:
        """Bucket and key of an object this try of the task writes under manifest_location."""
        bucket, prefix = split_s3_url(str(self.manifest_location))  # set: the caller checked
        ti = context["ti"] if "ti" in context else None
        name = f"{context.get('run_id', 'run')}/{self.task_id}"
        if ti is not None:
            name += f".try{ti.try_number}"
        if part:
            name += f".{part}"
        return bucket, f"{prefix.rstrip('/')}/{self.dag_id}/{_safe_key(name)}.{suffix}".lstrip("/")

    def _copy(self, hook: Any, spec: CopySpec, credentials, objects: list[S3Object] | None) -> int:
        """The load and the staged-file record, in one transaction; a data error fails the task at once."""
        with self._load_transaction(hook) as cursor:
            if objects == []:
                self.log.info("Nothing new to stage: only emptying %s", spec.table)
                rows = self._clear_only(cursor, spec)
            else:
                rows = run_redshift_copy(spec, cursor, credentials)
                self._log_rejects(cursor, failed=False)
            if self.staged_files_table and objects is not None:
                record_staged(cursor, self.staged_files_table, objects)
        return rows

    @contextmanager
    def _load_transaction(self, hook: Any) -> Iterator[Any]:
        """Like `sparkify.warehouse.transaction`, but a COPY that fails on the data fails the task at once,
        after the rollback, with its rejects logged from the same session (`pg_last_copy_id()`, which
        the shared helper's closed connection would lose); any other error rolls back and is raised."""
        with closing(hook.get_conn()) as conn:
            conn.autocommit = False
            cursor = conn.cursor()
            cursor.paramstyle = "pyformat"
            try:
                yield cursor
                conn.commit()
            except CopyFailed as failure:
                conn.rollback()
                if not failure.data_error:
                    raise
                self._log_rejects(cursor, failed=True)
                raise AirflowFailException(str(failure)) from None
            except BaseException:
                conn.rollback()
                raise

    def _log_rejects(self, cursor: Any, failed: bool) -> None:
        rejects = rejected_rows(cursor)
        if not rejects:
            return
        verdict = "failed the load" if failed else f"were skipped (MAXERROR {self.max_error})"
        self.log.warning("%d rejected row(s) %s; from stl_load_errors:", len(rejects), verdict)
        for reject in rejects:
            self.log.warning("  %s", reject)

    @staticmethod
    def _clear_only(cursor, spec: CopySpec) -> int:
        if spec.clear_sql():
            cursor.execute(spec.clear_sql())
        return 0


def _safe_key(text: str) -> str:
    """`text` with only characters that need no escaping in an S3 key."""
    return "".join(c if c.isalnum() or c in "-_./" else "_" for c in text)


def _as_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "", "none"):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}.")
