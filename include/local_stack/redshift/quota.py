"""Redshift's table quota by node type, and the row that tells each database which one to enforce.

The quota is per cluster and depends on the node type's size
(https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html, "Tables for ... cluster
node type"): 9,900 for large and xlarge, 9,900 for xlplus on one node and 20,000 on several, 200,000
for 4xlarge, 8xlarge and 16xlarge. quota.sql enforces it with an event trigger.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import psycopg

NODE_TYPE_VARIABLE = "SPARKIFY_REDSHIFT_NODE_TYPE"
NUMBER_OF_NODES_VARIABLE = "SPARKIFY_REDSHIFT_NUMBER_OF_NODES"
MAX_TABLES_VARIABLE = "SPARKIFY_REDSHIFT_MAX_TABLES"  # an explicit quota, overriding the node type's
# The infra DAG's default cluster (plugins/sparkify/infra/cluster_request.py; a unit test keeps them equal).
DEFAULT_NODE_TYPE = "dc2.large"
DEFAULT_NUMBER_OF_NODES = 4
# The documented quota by node size (the part of the node type after the dot): (one node, several nodes).
TABLES_BY_SIZE: dict[str, tuple[int, int]] = {
    "large": (9_900, 9_900),
    "xlarge": (9_900, 9_900),
    "xlplus": (9_900, 20_000),
    "4xlarge": (200_000, 200_000),
    "8xlarge": (200_000, 200_000),
    "16xlarge": (200_000, 200_000),
}


@dataclass(frozen=True)
class TableQuota:
    """The node type a local cluster stands for, and the most tables it holds."""

    node_type: str
    number_of_nodes: int
    max_tables: int
    overridden: bool = False  # max_tables was set explicitly, not from the node type

    def describe(self) -> str:
        source = MAX_TABLES_VARIABLE if self.overridden else f"{self.node_type} x {self.number_of_nodes}"
        return f"{self.max_tables:,} tables ({source})"


def max_tables(node_type: str, number_of_nodes: int = DEFAULT_NUMBER_OF_NODES) -> int:
    """The documented table quota of a cluster of `number_of_nodes` nodes of `node_type` (e.g. ra3.4xlarge)."""
    family, _, size = node_type.strip().lower().partition(".")
    if not family or size not in TABLES_BY_SIZE:
        known = ", ".join(TABLES_BY_SIZE)
        raise ValueError(f"Unknown Redshift node type {node_type!r}: expected <family>.<size>, size one of {known}.")
    if number_of_nodes < 1:
        raise ValueError(f"A cluster has at least one node, not {number_of_nodes}.")
    single, multiple = TABLES_BY_SIZE[size]
    return single if number_of_nodes == 1 else multiple


def table_quota(
    node_type: str = DEFAULT_NODE_TYPE, number_of_nodes: int = DEFAULT_NUMBER_OF_NODES, explicit: int | None = None
) -> TableQuota:
    """The quota of that cluster, or `explicit` when given (the node type must still be known)."""
    documented = max_tables(node_type, number_of_nodes)
    if explicit is not None and explicit < 1:
        raise ValueError(f"{MAX_TABLES_VARIABLE} must be a positive number of tables, not {explicit}.")
    return TableQuota(node_type.strip().lower(), number_of_nodes, explicit or documented, explicit is not None)


def quota_from(values: Mapping[str, str | None]) -> TableQuota:
    """The quota the settings in `values` (the environment, `.env`) ask for."""
    nodes = values.get(NUMBER_OF_NODES_VARIABLE)
    explicit = values.get(MAX_TABLES_VARIABLE)
    return table_quota(
        values.get(NODE_TYPE_VARIABLE) or DEFAULT_NODE_TYPE,
        _whole(NUMBER_OF_NODES_VARIABLE, nodes) if nodes else DEFAULT_NUMBER_OF_NODES,
        _whole(MAX_TABLES_VARIABLE, explicit) if explicit else None,
    )


_enforced = table_quota()


def configure(quota: TableQuota) -> None:
    """The quota this process writes into each database it serves (the emulator calls it once, at start)."""
    global _enforced
    _enforced = quota


def enforced() -> TableQuota:
    """The quota this process writes (the default until `configure`)."""
    return _enforced


def write_quota(conn: psycopg.Connection) -> None:
    """Make the configured quota this database's (after quota.sql has run in it)."""
    conn.execute(
        "INSERT INTO redshift_emulator.table_quota (singleton, node_type, max_tables) VALUES (TRUE, %s, %s) "
        "ON CONFLICT (singleton) DO UPDATE SET node_type = EXCLUDED.node_type, max_tables = EXCLUDED.max_tables",
        (_enforced.node_type, _enforced.max_tables),
    )


def _whole(name: str, text: str) -> int:
    try:
        return int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise ValueError(f"{name} must be a whole number, not {text!r}.") from None
