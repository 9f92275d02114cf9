"""WarehouseOperator: what the operators that run SQL on the warehouse share."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.providers.common.sql.operators.sql import BaseSQLOperator

from sparkify.lineage import ReportsLineage


class WarehouseOperator(ReportsLineage, BaseSQLOperator):
    """
    Base of the operators that run SQL on the warehouse.

    It is common-sql's ``BaseSQLOperator`` keyed on ``redshift_conn_id``: ``get_db_hook()`` gives the
    Amazon provider's ``RedshiftSQLHook`` for that connection, with ``hook_params`` as the hook's
    arguments, and its sessions named ``<dag_id>.<task_id>`` (``application_name``, unless the
    connection's extras set one; see sparkify.redshift_hook). Each operator reports its own
    OpenLineage facets (`sparkify.lineage.ReportsLineage`).

    :param redshift_conn_id: Warehouse connection. (templated in each subclass)
    :param database: Database to use instead of the connection's.
    :param hook_params: Extra arguments for the hook.
    """

    conn_id_field = "redshift_conn_id"

    def __init__(
        self,
        *,
        redshift_conn_id: str = "redshift",
        database: str | None = None,
        hook_params: dict | None = None,
        **kwargs,
    ) -> None:
        super().__init__(conn_id=redshift_conn_id, database=database, hook_params=hook_params, **kwargs)
        self.redshift_conn_id = redshift_conn_id

    @cached_property
    def _hook(self) -> Any:
        """The hook `get_db_hook()` returns (common-sql's attribute): the warehouse's, named after the task."""
        from sparkify.warehouse import warehouse_hook

        hook = warehouse_hook(
            self.redshift_conn_id, application_name=f"{self.dag_id}.{self.task_id}", **(self.hook_params or {})
        )
        if self.database:
            hook.schema = self.database
        return hook
