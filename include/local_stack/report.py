"""`make report`: run the analytics queries on the local warehouse, print them, and write the HTML report.

The report goes where `sparkify_report` writes it: the folder named by the Variable
`sparkify_report_dir` (AIRFLOW_VAR_SPARKIFY_REPORT_DIR), by default `reports/`.
"""

from __future__ import annotations

import os
import sys
import warnings

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

import psycopg  # noqa: E402

from local_stack.settings import PROJECT_ROOT, load_settings  # noqa: E402
from local_stack.warehouse_server import WarehouseServer  # noqa: E402

sys.path.insert(0, str(PROJECT_ROOT / "plugins"))
from sparkify.config import DEFAULTS  # noqa: E402
from sparkify.report.analytics_queries import AnalyticsQueryError  # noqa: E402
from sparkify.report.refresh import refresh_report, report_dir  # noqa: E402
from sparkify.report.text_table import format_results  # noqa: E402

ANALYTICS_SQL = PROJECT_ROOT / "include" / "sql" / "analytics"


def main() -> int:
    settings = load_settings()
    where = f"{settings.warehouse_host}:{settings.warehouse_port}/{settings.warehouse_db}"
    out_dir = report_dir(os.environ.get("AIRFLOW_VAR_SPARKIFY_REPORT_DIR") or DEFAULTS["sparkify_report_dir"],
                         PROJECT_ROOT)
    try:
        with psycopg.connect(WarehouseServer(settings).dsn(), connect_timeout=5) as conn, conn.cursor() as cursor:
            report = refresh_report(cursor, ANALYTICS_SQL, out_dir, f"the local warehouse {where}")
    except psycopg.errors.UndefinedTable:
        print(f"error: the warehouse at {where} has no star schema yet. Load it with `make demo` or `make run`.",
              file=sys.stderr)
        return 2
    except psycopg.OperationalError:
        print(f"error: cannot connect to the local warehouse at {where}. Start it with `make up` "
              f"(and load data with `make demo` or `make run`).", file=sys.stderr)
        return 2
    except AnalyticsQueryError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(format_results(report.results))
    print(f"\nReport written to {report.path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
