"""StageToRedshiftOperator: S3 JSON into a staging table with Redshift's COPY."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from sparkify.durations import parse_duration
from sparkify.identifiers import quote_identifier, quote_table, validate_identifier
from sparkify.operators.warehouse_operator import WarehouseOperator
from sparkify.retry_policy import fail_fast
from sparkify.s3copy.cached_staging import CachedStaging
from sparkify.s3copy.ledger import record_staged
from sparkify.s3copy.manifest import etags_key, is_empty_manifest, manifest_objects
from sparkify.s3copy.objects import (
    S3Object,
    manifest_document,
    read_small_object,
    request_extra,
    safe_key,
    select_objects,
    split_s3_url,
)
from sparkify.s3copy.redshift_copy import (
    CopyFailed,
    copy_credentials,
    rejected_rows,
    run_redshift_copy,
)
from sparkify.s3copy.spec import CopyOptions, CopySpec, expand_keys
from sparkify.warehouse import execute as execute_sql
from sparkify.warehouse import transaction
from sparkify.window import RunWindow, run_window

if TYPE_CHECKING:
    from airflow.sdk import Context

# The largest manifest the task reads (a selection of 20,000 song files is about 3 MB).
MANIFEST_MAX_BYTES = 256 * 1024 * 1024


class StageToRedshiftOperator(WarehouseOperator):
    """
    Load JSON objects from S3 into a staging table with ``COPY ... FORMAT AS JSON``, replacing its
    contents in one transaction.

    Give it ``s3_key`` or ``manifest``. Without ``manifest_location``, each key is handed to COPY as
    Redshift reads it: a key prefix. With it, the task selects the objects itself (a key names the
    object with exactly that key if there is one, else every object under it as a prefix), writes a
    manifest of exactly those objects and runs one ``COPY ... MANIFEST``; that manifest is deleted
    when the task ends. With ``manifest`` (for instance the URI a ``SelectNewObjectsOperator``
    returns), the task runs one ``COPY ... MANIFEST`` of it; a manifest with no entries stages
    nothing (the table is emptied with ``REPLACE``) and runs no COPY.

    A COPY that rejects more rows than ``max_error`` fails the task at once (no retry can fix the
    file), after logging the rejected rows from ``stl_load_errors``; connection and S3 errors raise
    normally, so the task's retries apply.

    :param table: Target table, ``table`` or ``schema.table``. (templated)
    :param s3_bucket: Source bucket; with ``s3_key``. (templated)
    :param s3_key: Key or key prefix, or a list of them. strftime directives such as
        ``%Y/%m/%Y-%m-%d`` expand once for every UTC day of the run's window. (templated)
    :param manifest: ``s3://`` URI of a COPY manifest to load instead of ``s3_key`` (MANIFEST). With
        ``staged_files_table``, its entries carry ``meta.content_length`` and the ETags are read from
        the sidecar ``<manifest>.etags.json`` (``sparkify.s3copy.manifest``), unless it has no entries. (templated)
    :param json_format: ``'auto'``, ``'auto ignorecase'`` or the ``s3://`` URI of a jsonpaths file. (templated)
    :param column_list: Target columns; by default all columns of the table, in order.
    :param timeformat: ``'epochmillisecs'``, ``'epochsecs'`` or ``'auto'`` for TIMESTAMP columns.
    :param blanks_as_null: Load white-space-only strings as NULL (BLANKSASNULL).
    :param empty_as_null: Load empty strings as NULL (EMPTYASNULL).
    :param truncate_columns: Truncate strings longer than their column (TRUNCATECOLUMNS).
    :param compression: ``'gzip'``, ``'bzip2'`` or ``'zstd'`` for compressed objects.
    :param region: Region of the bucket when it differs from the cluster's. (templated)
    :param accept_inv_chars: Replace each byte of invalid UTF-8 with this character (ACCEPTINVCHARS).
    :param max_error: MAXERROR: how many rows may be rejected before the load fails (default 0).
        Rejected rows are in ``stl_load_errors`` and in the task log.
    :param compupdate: COMPUPDATE ON/OFF.
    :param statupdate: STATUPDATE ON/OFF.
    :param method: ``'REPLACE'`` (default) empties the table first; ``'APPEND'`` keeps its rows.
    :param manifest_location: ``s3://bucket/prefix/`` where the task may write its manifest (the
        source bucket may be read-only); with ``s3_key``. (templated)
    :param staged_files_table: Table that receives the (s3_key, etag, size) of the staged
        objects, in the same transaction as the load; with ``manifest`` or ``manifest_location``. (templated)
    :param cache_table: Keep a copy of each staged object in the warehouse, registered in this table
        (``sparkify.s3copy.object_cache``), and fill ``table`` from the copies
        (``sparkify.s3copy.cached_staging``): a task that stages an
        object whose URI, ETag and size were staged before, with the same options and jsonpaths file
        contents into a table of the same columns, inserts the copy's rows instead of running COPY
        again. For the hourly runs of a backfill, which read the same day file 24 times. The COPY
        reads a copy of the jsonpaths bytes the task signed, written under ``manifest_location``; an
        object whose ETag or size differs after its COPY from the listing fails the task with
        ``SourceChanged`` (retried: the retry lists it again) and nothing is cached. Needs
        ``manifest_location``. Copies unused for ``cache_retention`` are dropped.
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
        "manifest",
        "json_format",
        "region",
        "manifest_location",
        "staged_files_table",
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
        s3_bucket: str | None = None,
        s3_key: str | Sequence[str] | None = None,
        manifest: str | None = None,
        json_format: str = "auto",
        column_list: Sequence[str] | None = None,
        timeformat: str | None = None,
        blanks_as_null: bool = False,
        empty_as_null: bool = False,
        truncate_columns: bool = False,
        compression: str | None = None,
        region: str | None = None,
        accept_inv_chars: str | None = None,
        max_error: int = 0,
        compupdate: bool | None = None,
        statupdate: bool | None = None,
        method: str = "REPLACE",
        manifest_location: str | None = None,
        staged_files_table: str | None = None,
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
        self.manifest = manifest
        self.json_format = json_format
        self.column_list = tuple(column_list or ())
        self.timeformat = timeformat
        self.blanks_as_null = blanks_as_null
        self.empty_as_null = empty_as_null
        self.truncate_columns = truncate_columns
        self.compression = compression
        self.region = region
        self.accept_inv_chars = accept_inv_chars
        self.max_error = max_error
        self.compupdate = compupdate
        self.statupdate = statupdate
        self.method = method
        self.manifest_location = manifest_location
        self.staged_files_table = staged_files_table
        self.cache_table = cache_table
        self.cache_retention = cache_retention
        self.time_column = validate_identifier(time_column, "time column") if time_column is not None else None
        self.window_count_sql = window_count_sql
        self.aws_conn_id = aws_conn_id
        self.iam_role = iam_role
        if "{{" not in json_format and "{{" not in (region or ""):
            self._options()  # fail at parse time on a bad literal option
        if (s3_key is None) == (manifest is None):
            raise ValueError("Give s3_key (with s3_bucket) or manifest, not both: they name what COPY loads.")
        if s3_key is not None and not s3_bucket:
            raise ValueError("s3_key needs s3_bucket.")
        if manifest is not None and (manifest_location or cache_table):
            raise ValueError("manifest loads the manifest given; manifest_location and cache_table select from s3_key.")
        if staged_files_table and not (manifest or manifest_location):
            raise ValueError("staged_files_table needs manifest or manifest_location: they name the staged objects.")
        if cache_table and not manifest_location:
            raise ValueError("cache_table needs manifest_location: each object is copied through its own manifest.")
        if cache_table:
            quote_table(cache_table)
        if (time_column is None) != (window_count_sql is None):
            raise ValueError("time_column and window_count_sql go together: the query counts the rows by that column.")
        for url in (manifest, manifest_location):
            if isinstance(url, str) and "{{" not in url:
                split_s3_url(url)  # a literal that is no s3:// URL fails the DAG's parse

    def _options(self) -> CopyOptions:
        return CopyOptions(
            json_format=self.json_format,
            timeformat=self.timeformat,
            blanks_as_null=self.blanks_as_null,
            empty_as_null=self.empty_as_null,
            truncate_columns=self.truncate_columns,
            compression=self.compression,
            region=self.region or None,
            manifest=self.manifest is not None,
            accept_inv_chars=self.accept_inv_chars,
            max_error=self.max_error,
            compupdate=self.compupdate,
            statupdate=self.statupdate,
        )

    def build_spec(self, days: Sequence) -> CopySpec:
        """The COPY specification for a window that touches `days` (or of the manifest)."""
        if self.manifest is not None:
            bucket, key = split_s3_url(self.manifest)
            keys: tuple[str, ...] = (key,)
        else:
            bucket, keys = str(self.s3_bucket), expand_keys(self.s3_key or (), days)
        return CopySpec(
            table=self.table,
            bucket=bucket,
            keys=keys,
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
            retention = parse_duration(self.cache_retention, "cache_retention")
        s3_hook = CallerNamedS3Hook(
            aws_conn_id=self.aws_conn_id, region_name=spec.options.region, caller=type(self).__name__
        )
        hook = self.get_db_hook()
        if self.manifest is not None:
            objects = self._manifest_objects(s3_hook, self.manifest)
        elif self.manifest_location:
            objects = select_objects(s3_hook, spec.bucket, spec.keys)
        else:
            objects = None
        if self.cache_table and objects:
            cache = CachedStaging(
                registry=self.cache_table,
                retention=retention,
                s3_hook=s3_hook,
                scratch=lambda part, suffix: self._task_object_key(context, part, suffix),
                log=self.log,
                log_rejects=lambda cursor: self._log_rejects(cursor, failed=False),
                max_error=self.max_error,
            )
            rows = cache.stage(hook, spec, credentials, objects, self.staged_files_table, self._after_rollback)
            self.log.info("Loaded %d rows into %s", rows, spec.table)
            self._log_window_rows(hook, window, rows, [o.uri for o in objects])
            self._lineage_rows = rows
            return rows
        sources = [o.uri for o in objects] if objects is not None else [spec.uri(key) for key in spec.keys]
        manifest_key = None
        try:
            if objects and self.manifest_location:
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
        dated = any("%" in key for key in ([self.s3_key] if isinstance(self.s3_key, str) else (self.s3_key or ())))
        noun = "day file" if dated else "file"
        if len(sources) == 1:
            files = f"the {noun} {sources[0]}"
        else:
            files = f"the {len(sources)} {noun}s {', '.join(sources)}".rstrip()
        self.log.info("%d rows of %s, %d in the %s", rows, files, in_window, window.note())  # "window 2018-11-15 …"
        return in_window

    def build_lineage(self, with_schemas: bool = True):
        """OpenLineage: the S3 keys or prefixes read, as S3ToRedshiftOperator reports them, and the tables written
        (with their schema, OVERWRITE for ``REPLACE`` and the rows loaded); with ``manifest``, the manifest is read."""
        from sparkify import lineage

        source = getattr(self, "_lineage_source", None)  # None: the task failed before it had a window
        inputs = [lineage.s3_input(source.bucket, key) for key in source.keys] if source else []
        warehouse = lineage.Warehouse.from_connection(self.redshift_conn_id)
        written = [self.table, *([self.staged_files_table] if self.staged_files_table else [])]
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
        return lineage.operator_lineage(inputs, outputs)

    def _manifest_objects(self, s3_hook: Any, uri: str) -> list[S3Object] | None:
        """The objects of the manifest at `uri` when the task records them (staged_files_table), [] for a
        manifest with no entries (nothing to stage), else None: COPY reads the manifest itself."""
        objects: list[S3Object] | None
        with fail_fast("Bad manifest", ValueError):
            _, document = read_small_object(s3_hook.get_conn(), uri, MANIFEST_MAX_BYTES, **request_extra(s3_hook))
            if self.staged_files_table:
                etags = None if is_empty_manifest(document) else self._read_etags(s3_hook, uri)
                objects = manifest_objects(document, etags, uri)
            else:
                objects = [] if is_empty_manifest(document) else None
        self.log.info("The manifest %s lists %s object(s)", uri, "some" if objects is None else len(objects))
        return objects

    def _read_etags(self, s3_hook: Any, uri: str) -> bytes:
        """The ETags sidecar of the selection manifest at `uri`; a missing one fails the task at once."""
        from botocore.exceptions import ClientError

        sidecar = etags_key(uri)
        try:
            _, etags = read_small_object(s3_hook.get_conn(), sidecar, MANIFEST_MAX_BYTES, **request_extra(s3_hook))
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("NoSuchKey", "404"):
                raise
            raise AirflowFailException(
                f"Bad manifest: {sidecar}, the ETags of {uri} that staged_files_table records, does not exist "
                "(a manifest written by SelectNewObjectsOperator has one)."
            ) from None
        return etags

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
        return bucket, f"{prefix.rstrip('/')}/{self.dag_id}/{safe_key(name)}.{suffix}".lstrip("/")

    def _copy(self, hook: Any, spec: CopySpec, credentials, objects: list[S3Object] | None) -> int:
        """The load and the staged-file record, in one transaction; a data error fails the task at once."""
        with transaction(hook, on_rollback=self._after_rollback) as cursor:
            if objects == []:
                self.log.info("Nothing new to stage: only emptying %s", spec.table)
                rows = self._clear_only(cursor, spec)
            else:
                rows = run_redshift_copy(spec, cursor, credentials)
                self._log_rejects(cursor, failed=False)
            if self.staged_files_table and objects is not None:
                record_staged(cursor, self.staged_files_table, objects)
        return rows

    def _after_rollback(self, cursor: Any, error: BaseException) -> None:
        """A COPY refused on its data fails the task at once, its rejected rows logged first from the same
        session (`pg_last_copy_id()`); any other error is raised as it is, so the task's retries apply."""
        if isinstance(error, CopyFailed) and error.data_error:
            self._log_rejects(cursor, failed=True)
            raise AirflowFailException(str(error)) from None

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
