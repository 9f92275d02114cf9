"""StageToRedshiftOperator: S3 JSON into a staging table with Redshift's COPY."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException

from sparkify.operators.warehouse_operator import WarehouseOperator
from sparkify.retry_policy import fail_fast
from sparkify.s3copy.cached_staging import CachedStaging, CacheIO
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
from sparkify.s3copy.spec import METHODS, CopyOptions, CopySpec, copy_option_entries, copy_options_from, expand_keys
from sparkify.warehouse import transaction
from sparkify.window import run_window

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

    A COPY that rejects more rows than ``copy_options``' ``max_error`` fails the task at once (no retry
    can fix the file), after logging the rejected rows from ``stl_load_errors``; connection and S3 errors
    raise normally, so the task's retries apply.

    The arguments follow the Amazon provider's ``S3ToRedshiftOperator``, with one deliberate difference:
    ``copy_options`` is keyed by the fields of ``CopyOptions``, not Redshift's option text, so every
    value is validated and rendered by one model.

    :param table: Target table, ``table`` or ``schema.table``. (templated)
    :param s3_bucket: Source bucket; with ``s3_key``. (templated)
    :param s3_key: Key or key prefix, or a list of them. strftime directives such as
        ``%Y/%m/%Y-%m-%d`` expand once for every UTC day of the run's window. (templated)
    :param manifest: ``s3://`` URI of a COPY manifest to load instead of ``s3_key`` (MANIFEST). With
        ``staged_files_table``, its entries carry ``meta.content_length`` and the ETags are read from
        the sidecar ``<manifest>.etags.json`` (``sparkify.s3copy.manifest``), unless it has no entries. (templated)
    :param column_list: Target columns; by default all columns of the table, in order.
    :param copy_options: The COPY's options: a ``CopyOptions``, or a mapping keyed by its field names
        (``sparkify.s3copy.spec.OPERATOR_OPTIONS``, e.g. ``{"json_format": "auto", "max_error": 10}``);
        default JSON ``'auto'``. ``manifest`` is not one of them (the ``manifest`` and
        ``manifest_location`` arguments decide MANIFEST); an unknown key fails the DAG's parse, as does
        a bad value without ``{{``. String values may be templated, and are validated after rendering
        (a templated ``max_error`` renders to a string and fails); an empty ``region`` means none. (templated)
    :param method: ``'REPLACE'`` (default) empties the table first; ``'APPEND'`` keeps its rows.
    :param manifest_location: ``s3://bucket/prefix/`` where the task may write its manifest (the
        source bucket may be read-only); with ``s3_key``. (templated)
    :param staged_files_table: Table that receives the (s3_key, etag, size) of the staged
        objects, in the same transaction as the load; with ``manifest`` or ``manifest_location``. (templated)
    :param object_cache: ``CachedStaging(registry, retention)``: keep a copy of each staged object in the
        warehouse, registered in ``registry`` (``sparkify.s3copy.object_cache``), and fill ``table`` from
        the copies (``sparkify.s3copy.cached_staging``): a task that stages an object whose URI, ETag and
        size were staged before, with the same options and jsonpaths file contents into a table of the
        same columns, inserts the copy's rows instead of running COPY again. For the hourly runs of a
        backfill, which read the same day file 24 times. The COPY reads a copy of the jsonpaths bytes the
        task signed, written under ``manifest_location``; an object whose ETag or size differs after its
        COPY from the listing fails the task with ``SourceChanged`` (retried: the retry lists it again)
        and nothing is cached. Needs ``manifest_location``. Copies unused for ``retention`` are dropped.
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
        "copy_options",
        "manifest_location",
        "staged_files_table",
        "redshift_conn_id",
        "aws_conn_id",
        "iam_role",
    )
    template_ext: Sequence[str] = ()
    template_fields_renderers = {"copy_options": "json"}
    ui_color = "#358140"

    def __init__(
        self,
        *,
        table: str,
        s3_bucket: str | None = None,
        s3_key: str | Sequence[str] | None = None,
        manifest: str | None = None,
        column_list: Sequence[str] | None = None,
        copy_options: CopyOptions | Mapping[str, Any] | None = None,
        method: str = "REPLACE",
        manifest_location: str | None = None,
        staged_files_table: str | None = None,
        object_cache: CachedStaging | None = None,
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
        self.column_list = tuple(column_list or ())
        self.copy_options = copy_option_entries(copy_options)  # a copy: a DAG may share one dict between tasks
        self.method = method
        self.manifest_location = manifest_location
        self.staged_files_table = staged_files_table
        self.object_cache = object_cache
        self.aws_conn_id = aws_conn_id
        self.iam_role = iam_role
        # fail at parse time on a bad literal option; templated ones are checked once rendered
        copy_options_from({k: v for k, v in self.copy_options.items() if not (isinstance(v, str) and "{{" in v)})
        if method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {method!r}.")
        if object_cache is not None and not isinstance(object_cache, CachedStaging):
            raise ValueError(f"object_cache must be a CachedStaging, not {type(object_cache).__name__}.")
        if (s3_key is None) == (manifest is None):
            raise ValueError("Give s3_key (with s3_bucket) or manifest, not both: they name what COPY loads.")
        if s3_key is not None and not s3_bucket:
            raise ValueError("s3_key needs s3_bucket.")
        if manifest is not None and (manifest_location or object_cache):
            raise ValueError(
                "manifest loads the manifest given; manifest_location and object_cache select from s3_key."
            )
        if staged_files_table and not (manifest or manifest_location):
            raise ValueError("staged_files_table needs manifest or manifest_location: they name the staged objects.")
        if object_cache and not manifest_location:
            raise ValueError("object_cache needs manifest_location: each object is copied through its own manifest.")
        for url in (manifest, manifest_location):
            if isinstance(url, str) and "{{" not in url:
                split_s3_url(url)  # a literal that is no s3:// URL fails the DAG's parse

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
            options=copy_options_from(self.copy_options, manifest=self.manifest is not None),
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
        if self.object_cache and objects:
            io = CacheIO(
                s3_hook=s3_hook,
                scratch=lambda part, suffix: self._task_object_key(context, part, suffix),
                log=self.log,
                log_rejects=lambda cursor: self._log_rejects(cursor, failed=False, max_error=spec.options.max_error),
            )
            rows = self.object_cache.stage(
                hook, spec, credentials, objects, io, self.staged_files_table, self._after_rollback
            )
            self.log.info("Loaded %d rows into %s", rows, spec.table)
            self._lineage_rows = rows
            return rows
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
        self._lineage_rows = rows
        return rows

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
                self._log_rejects(cursor, failed=False, max_error=spec.options.max_error)
            if self.staged_files_table and objects is not None:
                record_staged(cursor, self.staged_files_table, objects)
        return rows

    def _after_rollback(self, cursor: Any, error: BaseException) -> None:
        """A COPY refused on its data fails the task at once, its rejected rows logged first from the same
        session (`pg_last_copy_id()`); any other error is raised as it is, so the task's retries apply."""
        if isinstance(error, CopyFailed) and error.data_error:
            self._log_rejects(cursor, failed=True)
            raise AirflowFailException(str(error)) from None

    def _log_rejects(self, cursor: Any, failed: bool, max_error: int = 0) -> None:
        rejects = rejected_rows(cursor)
        if not rejects:
            return
        verdict = "failed the load" if failed else f"were skipped (MAXERROR {max_error})"
        self.log.warning("%d rejected row(s) %s; from stl_load_errors:", len(rejects), verdict)
        for reject in rejects:
            self.log.warning("  %s", reject)

    @staticmethod
    def _clear_only(cursor, spec: CopySpec) -> int:
        if spec.clear_sql():
            cursor.execute(spec.clear_sql())
        return 0
