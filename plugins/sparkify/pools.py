"""The Airflow pool that limits how many tasks write to the warehouse at once.

Every task of `sparkify_etl` that writes to the warehouse (DDL, COPY, the fact and dimension
loads, the quality results) takes one slot. Four slots let a run load its four dimensions side by
side while up to four runs overlap; more writers than that only queue for locks and connections on
a small cluster. `make up` and the Compose `airflow-init` create the pool when it is missing; resize
it in the UI (Admin > Pools) or with `airflow pools set warehouse <slots> "<description>"`.
"""

from __future__ import annotations

WAREHOUSE_POOL = "warehouse"
WAREHOUSE_POOL_SLOTS = 4
WAREHOUSE_POOL_DESCRIPTION = "Tasks that write to the Sparkify warehouse (Redshift); one slot each"
