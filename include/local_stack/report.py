"""`make report`: run the analytics queries on the warehouse, print them, and write the HTML report.

The warehouse is the `redshift` connection in the environment (AIRFLOW_CONN_REDSHIFT, e.g.
the cluster from `make import-dwh-cfg` after `set -a; . ./.env.dwh; set +a`), else the
local stack's. The report goes where `sparkify_report` writes it: the folder named by the
Variable `sparkify_report_dir` (AIRFLOW_VAR_SPARKIFY_REPORT_DIR), by default `reports/`.
"""

from __future__ import annotations

import os
import sys
import warnings

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

import psycopg  # noqa: E402

from local_stack.report_warehouse import ReportWarehouse, WarehouseConnError, report_warehouse  # noqa: E402
from local_stack.settings import PROJECT_ROOT  # noqa: E402

sys.path.insert(0, str(PROJECT_ROOT / "plugins"))
from sparkify.config import DEFAULTS  # noqa: E402
from sparkify.report.analytics_queries import AnalyticsQueryError  # noqa: E402
from sparkify.report.refresh import refresh_report, report_dir  # noqa: E402
from sparkify.report.text_table import format_results  # noqa: E402

ANALYTICS_SQL = PROJECT_ROOT / "include" / "sql" / "analytics"


def main() -> int:
    try:
        warehouse = report_warehouse()
    except WarehouseConnError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    where = warehouse.where
    print(f"Reporting on the warehouse {where} (connection from {warehouse.source})\n")
    out_dir = report_dir(os.environ.get("AIRFLOW_VAR_SPARKIFY_REPORT_DIR") or DEFAULTS["sparkify_report_dir"],
                         PROJECT_ROOT)
    try:
        with psycopg.connect(**warehouse.connect_args(), connect_timeout=10) as conn, conn.cursor() as cursor:
            report = refresh_report(cursor, ANALYTICS_SQL, out_dir, f"the warehouse {where}")
    except psycopg.errors.UndefinedTable:
        print(f"error: the warehouse at {where} has no star schema yet. Load it with `make demo` or `make run` "
              f"(local stack) or a sparkify_etl run (a cluster).", file=sys.stderr)
        return 2
    except psycopg.OperationalError as error:
        print(f"error: {cannot_connect(warehouse, error)}", file=sys.stderr)
        return 2
    except AnalyticsQueryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_results(report.results))
    print(f"\nReport written to {report.path}")
    return 0


def cannot_connect(warehouse: ReportWarehouse, error: Exception) -> str:
    if not warehouse.from_environment:
        return (f"cannot connect to the local warehouse at {warehouse.where}. Start it with `make up` "
                f"(and load data with `make demo` or `make run`).")
    reason = " ".join(str(error).split())  # libpq's message: host, port, user, never the password
    return (f"cannot connect to the warehouse at {warehouse.where} ({warehouse.source}): {reason}\n"
            f"Check that connection: for a cluster, that it is available (sparkify_infra) and its port is open to "
            f"this machine; for the local stack, unset {warehouse.source} or start it with `make up`.")


if __name__ == "__main__":
    sys.exit(main())
