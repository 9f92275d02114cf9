"""SelectNewObjectsOperator: the S3 objects a ledger does not record yet, as a COPY manifest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowNotFoundException

from sparkify.durations import parse_duration
from sparkify.identifiers import quote_table
from sparkify.operators.warehouse_operator import WarehouseOperator
from sparkify.retry_policy import fail_fast
from sparkify.s3copy.ledger import unloaded_objects
from sparkify.s3copy.listing import (
    is_recent,
    listed_at,
    listing_source,
    lock_listing,
    record_listing,
    unloaded_listed_objects,
)
from sparkify.s3copy.manifest import ETAGS_SUFFIX, etags_key, selection_etags, selection_manifest
from sparkify.s3copy.objects import S3Object, safe_key, select_objects, split_s3_url
from sparkify.s3copy.spec import expand_keys
from sparkify.warehouse import transaction
from sparkify.window import run_window

if TYPE_CHECKING:
    from airflow.sdk import Context


class SelectNewObjectsOperator(WarehouseOperator):
    """
    Select the S3 objects that are new or changed since a ledger table recorded them, write the COPY
    manifest of exactly those objects and return its ``s3://`` URI (to XCom), for
    ``StageToRedshiftOperator(manifest=...)``. Nothing new gives a manifest with no entries. The
    objects' ETags are written first, beside it, to ``<manifest>.etags.json`` (url -> ETag).

    The manifest of a run is ``<manifest_location>/<dag_id>/<task_id>/<run_id>.manifest``: a retry
    or a cleared task writes it again, and the stage task may be retried or cleared on its own while
    it exists. Manifests of this task older than ``manifest_retention`` are deleted, with their
    sidecars, when it runs.
    The task writes no table but the listing: the ledger is updated downstream (publish).

    :param s3_bucket: Source bucket. (templated)
    :param s3_key: Key or key prefix, or a list of them: a key names the object with exactly that key
        if there is one, else every object under it. strftime directives expand once for every UTC day
        of the run's window. (templated)
    :param ledger_table: Table (s3_key, etag, size) of the objects already loaded.
    :param manifest_location: ``s3://bucket/prefix/`` where the manifest is written. (templated)
    :param full_refresh: Select every object, ignoring the ledger. (templated)
    :param listing_table: Keep the listing of the source in this table (source, s3_key, etag, size,
        listed_at) and compare it with the ledger in the warehouse; tasks list one at a time (``LOCK TABLE``).
    :param listing_max_age: With ``listing_table``: reuse a listing of the same source younger than
        this instead of listing S3 again (a ``timedelta``, or ``"15m"``; ``0``, the default, lists every
        time). A full refresh always lists. (templated)
    :param manifest_retention: How long this task's manifests are kept (default ``48h``). (templated)
    :param region: Region of the buckets, when it differs from the connection's. (templated)
    :param redshift_conn_id: Warehouse connection, of type ``redshift``. (templated)
    :param aws_conn_id: AWS connection that lists the source and writes the manifest. (templated)
    """

    template_fields: Sequence[str] = (
        "s3_bucket",
        "s3_key",
        "manifest_location",
        "full_refresh",
        "listing_max_age",
        "manifest_retention",
        "region",
        "redshift_conn_id",
        "aws_conn_id",
    )
    ui_color = "#6b8e23"

    def __init__(
        self,
        *,
        s3_bucket: str,
        s3_key: str | Sequence[str],
        ledger_table: str,
        manifest_location: str,
        full_refresh: bool | str = False,
        listing_table: str | None = None,
        listing_max_age: timedelta | str = "0",
        manifest_retention: timedelta | str = "48h",
        region: str | None = None,
        redshift_conn_id: str = "redshift",
        aws_conn_id: str = "aws_default",
        **kwargs,
    ) -> None:
        super().__init__(redshift_conn_id=redshift_conn_id, **kwargs)
        self.s3_bucket = s3_bucket
        self.s3_key = s3_key
        self.ledger_table = ledger_table
        self.manifest_location = manifest_location
        self.full_refresh = full_refresh
        self.listing_table = listing_table
        self.listing_max_age = listing_max_age
        self.manifest_retention = manifest_retention
        self.region = region
        self.aws_conn_id = aws_conn_id
        quote_table(ledger_table)
        if listing_table:
            quote_table(listing_table)
        if "{{" not in manifest_location:
            split_s3_url(manifest_location)

    def execute(self, context: Context) -> str:
        from sparkify.s3_hook import CallerNamedS3Hook

        window = run_window(context)
        with fail_fast("Bad configuration", ValueError, AirflowNotFoundException):
            keys = expand_keys(self.s3_key, window.days())
            self._lineage_keys = keys
            manifest_bucket, manifest_prefix = split_s3_url(self.manifest_location)
            full_refresh = as_bool(self.full_refresh, "full_refresh")
            max_age = timedelta(0) if full_refresh else parse_duration(self.listing_max_age, "listing_max_age")
            retention = parse_duration(self.manifest_retention, "manifest_retention")
        s3_hook = CallerNamedS3Hook(
            aws_conn_id=self.aws_conn_id, region_name=self.region or None, caller=type(self).__name__
        )
        hook = self.get_db_hook()
        if self.listing_table:
            objects = self._selected_by_listing(hook, s3_hook, keys, max_age, full_refresh)
        else:
            objects = self._selected(hook, s3_hook, keys, full_refresh)
        folder = f"{manifest_prefix.rstrip('/')}/{self.dag_id}/{self.task_id}/".lstrip("/")
        key = folder + safe_key(str(context.get("run_id", "run"))) + ".manifest"
        # the ETags first: a reader never finds the manifest without them
        s3_hook.load_bytes(selection_etags(objects), key=etags_key(key), bucket_name=manifest_bucket, replace=True)
        s3_hook.load_bytes(selection_manifest(objects), key=key, bucket_name=manifest_bucket, replace=True)
        uri = f"s3://{manifest_bucket}/{key}"
        self._lineage_manifest = (manifest_bucket, key)
        self.log.info("Wrote the manifest of %d object(s) to %s", len(objects), uri)
        self._delete_old_manifests(s3_hook, manifest_bucket, folder, keep=key, retention=retention)
        return uri

    def _selected(self, hook: Any, s3_hook: Any, keys: Sequence[str], full_refresh: bool) -> list[S3Object]:
        listed = select_objects(s3_hook, self.s3_bucket, keys)
        if full_refresh:
            self.log.info("Full refresh: selecting all %d object(s), ignoring %s", len(listed), self.ledger_table)
            return listed
        with transaction(hook) as cursor:
            selected = unloaded_objects(cursor, self.ledger_table, listed)
        self.log.info("%d of %d object(s) are new or changed since %s", len(selected), len(listed), self.ledger_table)
        return selected

    def _selected_by_listing(
        self, hook: Any, s3_hook: Any, keys: Sequence[str], max_age: timedelta, full_refresh: bool
    ) -> list[S3Object]:
        """List the source into listing_table (or reuse a listing younger than `max_age`), then compare
        it with the ledger there."""
        table, ledger = str(self.listing_table), self.ledger_table
        source = listing_source([f"s3://{self.s3_bucket}/{key}" for key in keys])
        with transaction(hook) as cursor:
            lock_listing(cursor, table)
            now = datetime.now(timezone.utc).replace(tzinfo=None)  # TIMESTAMP columns hold UTC
            previous = listed_at(cursor, table, source)
            if is_recent(previous, now, max_age):
                listed = None
                self.log.info("Reusing the listing of %s made at %s UTC (max age %s)", source, previous, max_age)
            else:
                listed = select_objects(s3_hook, self.s3_bucket, keys)
                record_listing(cursor, table, source, listed, now)
                self.log.info("Listed %d object(s) of %s into %s", len(listed), source, table)
        if full_refresh and listed is not None:
            self.log.info("Full refresh: selecting all %d object(s), ignoring %s", len(listed), ledger)
            return listed
        with transaction(hook) as cursor:
            selected = unloaded_listed_objects(cursor, table, ledger, source, self.s3_bucket)
        self.log.info("%d object(s) of the listing are new or changed since %s", len(selected), ledger)
        return selected

    def _delete_old_manifests(self, s3_hook: Any, bucket: str, folder: str, keep: str, retention: timedelta) -> None:
        """Delete this task's manifests written more than `retention` ago (never the one just written),
        each with its ETags sidecar; a sidecar left without a manifest goes when it is that old."""
        cutoff = datetime.now(timezone.utc) - retention
        pages = s3_hook.get_conn().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=folder)
        listed = {item["Key"]: item["LastModified"] for page in pages for item in page.get("Contents", [])}
        old = [k for k, at in listed.items() if at < cutoff and k != keep and not k.endswith(ETAGS_SUFFIX)]
        sidecars = [etags_key(k) for k in old if etags_key(k) in listed]
        orphans = [
            k
            for k, at in listed.items()
            if k.endswith(ETAGS_SUFFIX) and at < cutoff and k.removesuffix(ETAGS_SUFFIX) not in listed
        ]
        if old or orphans:
            s3_hook.delete_objects(bucket=bucket, keys=[*old, *sidecars, *orphans])
            self.log.info("Deleted %d manifest(s) older than %s under s3://%s/%s", len(old), retention, bucket, folder)

    def build_lineage(self, with_schemas: bool = True):
        """OpenLineage: the S3 keys or prefixes listed and the ledger read; the manifest and the listing
        table written (the stage task reads the manifest: song_data/ → manifest → staging table)."""
        from sparkify import lineage

        warehouse = lineage.Warehouse.from_connection(self.redshift_conn_id)
        keys = getattr(self, "_lineage_keys", ())  # none: the task failed before it had a window
        manifest = getattr(self, "_lineage_manifest", None)
        inputs = [*(lineage.s3_input(str(self.s3_bucket), key) for key in keys), warehouse.input(self.ledger_table)]
        outputs = [lineage.s3_output(*manifest)] if manifest else []
        if self.listing_table:
            outputs.append(warehouse.output(self.listing_table))
        return lineage.operator_lineage(inputs, outputs)


def as_bool(value: Any, name: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes"):
        return True
    if text in ("false", "0", "no", "", "none"):
        return False
    raise ValueError(f"{name} must be true or false, not {value!r}.")
