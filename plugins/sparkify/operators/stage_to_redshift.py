"""StageToRedshiftOperator: S3 JSON into a staging table, by Redshift COPY or its local twin."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from airflow.sdk import BaseOperator

from local_stack.redshift.s3copy.errors import LoadError
from sparkify.s3copy.ledger import record_staged, unloaded_objects
from local_stack.redshift.s3copy.load_errors import LOAD_ERRORS_TABLE, record_load_errors
from local_stack.redshift.s3copy.loader import list_source_objects, run_local_copy
from sparkify.s3copy.spec import CopyOptions, CopySpec, expand_keys
from sparkify.warehouse import REDSHIFT, transaction, warehouse_dialect, warehouse_hook
from sparkify.window import run_window

if TYPE_CHECKING:
    from airflow.sdk import Context


class StageToRedshiftOperator(BaseOperator):
    """
    Load JSON objects from S3 into a staging table, replacing its contents in one transaction.

    On a connection of type ``redshift`` this runs ``COPY ... FORMAT AS JSON``. On a
    PostgreSQL connection (the local stack) it performs the same load itself: every object
    whose key starts with the prefix, one or many JSON objects per file, jsonpaths or
    by-name mapping, Redshift's casting rules, streamed with ``COPY ... FROM STDIN``.

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
    :param region: Region of the bucket when it differs from the cluster's; locally, the S3
        client's region. (templated)
    :param manifest: Treat each key as a manifest file listing the objects to load (MANIFEST).
    :param accept_inv_chars: Replace each byte of invalid UTF-8 with this character (ACCEPTINVCHARS).
    :param max_error: MAXERROR: how many rows may be rejected before the load fails (default 0).
        Locally, rejected rows are recorded in the ``load_errors`` table, even when the load fails.
    :param compupdate: COMPUPDATE ON/OFF on Redshift; no effect locally.
    :param statupdate: STATUPDATE ON/OFF on Redshift; no effect locally.
    :param method: ``'REPLACE'`` (default) empties the table first; ``'APPEND'`` keeps its rows.
    :param ledger_table: Incremental staging: skip objects whose key, ETag and size this table
        (s3_key, etag, size) already records. Something downstream must update it.
    :param staged_files_table: Table that receives the (s3_key, etag, size) of the staged
        objects, in the same transaction as the load. (templated)
    :param ignore_ledger: Stage every object even with a ledger (full refresh). (templated)
    :param redshift_conn_id: Warehouse connection. (templated)
    :param aws_conn_id: AWS connection the task reads S3 with (listing, local loads) and, with
        no IAM role, whose keys COPY uses. (templated)
    :param iam_role: ARN of the role Redshift assumes for COPY (``IAM_ROLE``); empty: the AWS
        connection's keys. Kept apart from the connection, because the Amazon provider assumes
        a connection's ``role_arn`` for every call it makes, and a role that trusts only
        Redshift cannot be assumed by the task. (templated)
    """

    template_fields: Sequence[str] = (
        "table", "s3_bucket", "s3_key", "json_format", "region", "staged_files_table", "ignore_ledger",
        "redshift_conn_id", "aws_conn_id", "iam_role",
    )
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
        ledger_table: str | None = None,
        staged_files_table: str | None = None,
        ignore_ledger: bool | str = False,
        redshift_conn_id: str = "redshift",
        aws_conn_id: str = "aws_default",
        iam_role: str | None = None,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
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
        self.ledger_table = ledger_table
        self.staged_files_table = staged_files_table
        self.ignore_ledger = ignore_ledger
        self.redshift_conn_id = redshift_conn_id
        self.aws_conn_id = aws_conn_id
        self.iam_role = iam_role
        if "{{" not in json_format and "{{" not in (region or ""):
            self._options()  # fail at parse time on a bad literal option

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
        window = run_window(context)
        spec = self.build_spec(window.days())
        self.log.info("Staging %s for window %s from %s", spec.table, window, ", ".join(map(spec.uri, spec.keys)))
        hook = warehouse_hook(self.redshift_conn_id)
        redshift = warehouse_dialect(self.redshift_conn_id) == REDSHIFT
        # On Redshift without a ledger the cluster reads S3 itself: the task makes no S3 call.
        s3_client = None
        if self.ledger_table or not redshift:
            s3_client = S3Hook(aws_conn_id=self.aws_conn_id, region_name=spec.options.region).get_conn()
        objects = None
        if self.ledger_table:
            objects = self._incremental_objects(hook, spec, s3_client)
            full_refresh = _as_bool(self.ignore_ledger, "ignore_ledger")
            if redshift and objects and not full_refresh:  # Redshift reads the selected objects by key
                spec = replace(spec, keys=tuple(o.key for o in objects))
        if redshift:
            from sparkify.s3copy.redshift_copy import copy_credentials, run_redshift_copy

            credentials = copy_credentials(self.aws_conn_id, self.iam_role)
            with transaction(hook) as cursor:
                rows = run_redshift_copy(spec, cursor, credentials) if objects != [] else self._clear_only(cursor, spec)
                self._record_files(cursor, objects)
        else:
            rows = self._local_copy(hook, spec, s3_client, objects, context.get("run_id"))
        self.log.info("Loaded %d rows into %s", rows, spec.table)
        return rows

    def _incremental_objects(self, hook, spec: CopySpec, s3_client) -> list:
        listed = list_source_objects(spec, s3_client)
        if _as_bool(self.ignore_ledger, "ignore_ledger"):
            self.log.info("Full refresh: staging all %d object(s), ignoring %s", len(listed), self.ledger_table)
            return listed
        with transaction(hook) as cursor:
            selected = unloaded_objects(cursor, self.ledger_table, listed)
        self.log.info("%d of %d object(s) are new or changed since %s", len(selected), len(listed), self.ledger_table)
        return selected

    def _record_files(self, cursor, objects) -> None:
        if self.staged_files_table and objects is not None:
            record_staged(cursor, self.staged_files_table, objects)

    @staticmethod
    def _clear_only(cursor, spec: CopySpec) -> int:
        if spec.clear_sql():
            cursor.execute(spec.clear_sql())
        return 0

    def _local_copy(self, hook, spec: CopySpec, s3_client, objects, run_id: str | None) -> int:
        rejects: list[LoadError] = []
        try:
            with transaction(hook) as cursor:
                rows = run_local_copy(spec, cursor, s3_client, rejects, objects) if objects != [] else (
                    self._clear_only(cursor, spec)
                )
                self._record_files(cursor, objects)
        except LoadError as error:
            if error not in rejects:
                rejects.append(error)
            raise
        finally:
            if rejects:  # in a transaction of their own, so they survive a failed load
                with transaction(hook) as cursor:
                    record_load_errors(cursor, run_id, spec.table, rejects)
                self.log.warning("Recorded %d rejected row(s) in %s", len(rejects), LOAD_ERRORS_TABLE)
        return rows


def _as_bool(value, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "", "none"):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}.")
