"""The Airflow Assets that link the Sparkify DAGs.

`sparkify_etl` emits SPARKIFY_STAR_SCHEMA when a run has loaded and checked the star
schema; `sparkify_report` is scheduled on it. The URI names the data, not a host: the
warehouse is chosen at run time by the `sparkify_redshift_conn_id` Variable.
"""

from __future__ import annotations

from airflow.sdk import Asset

SPARKIFY_STAR_SCHEMA = Asset(name="sparkify_star_schema", uri="sparkify://warehouse/star_schema")
