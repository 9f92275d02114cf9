"""`make report`: run the analytics queries on the warehouse, print them, and write the HTML report.

`make report FETCH=latest` instead downloads the newest page that `sparkify_report` published to
its object-storage location (Variable `sparkify_report_location`, AIRFLOW_VAR_SPARKIFY_REPORT_LOCATION;
default `s3://sparkify-staging/reports/` through the connection `aws_default`: the local stack's
moto S3, or AWS with AIRFLOW_CONN_AWS_DEFAULT in the environment); `FETCH=<object name>` one page.
Either way the page is written to the local folder below, as the local copy for the user.

The warehouse is the `redshift` connection in the environment (AIRFLOW_CONN_REDSHIFT, e.g.
the cluster from `make import-dwh-cfg` after `set -a; . ./.env.dwh; set +a`), else the
local stack's. The report goes where `sparkify_report` writes it: the folder named by the
Variable `sparkify_report_dir` (AIRFLOW_VAR_SPARKIFY_REPORT_DIR), by default `reports/`.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR")

import psycopg  # noqa: E402

from local_stack.report_warehouse import ReportWarehouse, WarehouseConnError, report_warehouse  # noqa: E402
from local_stack.settings import PROJECT_ROOT  # noqa: E402

sys.path.insert(0, str(PROJECT_ROOT / "plugins"))
from sparkify.config import DEFAULTS  # noqa: E402
from sparkify.report.analytics_queries import AnalyticsQueryError  # noqa: E402
from sparkify.report.refresh import refresh_report, report_dir, write_local_copy  # noqa: E402
from sparkify.report.text_table import format_results  # noqa: E402

ANALYTICS_SQL = PROJECT_ROOT / "include" / "sql" / "analytics"


def main(argv: Sequence[str] = ()) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack.make_report", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--fetch", metavar="NAME", help="download a page sparkify_report published: 'latest' or its object name"
    )
    args = parser.parse_args(list(argv))
    if args.fetch:
        return fetch(args.fetch)
    try:
        warehouse = report_warehouse()
    except WarehouseConnError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    where = warehouse.where
    print(f"Reporting on the warehouse {where} (connection from {warehouse.source})\n")
    out_dir = local_report_dir()
    try:
        with psycopg.connect(**warehouse.connect_args(), connect_timeout=10) as conn, conn.cursor() as cursor:
            report = refresh_report(cursor, ANALYTICS_SQL, out_dir, f"the warehouse {where}")
    except psycopg.errors.UndefinedTable:
        print(
            f"error: the warehouse at {where} has no star schema yet. Load it with `make demo` or `make run` "
            f"(local stack) or a sparkify_etl run (a cluster).",
            file=sys.stderr,
        )
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


def local_report_dir():
    return report_dir(
        os.environ.get("AIRFLOW_VAR_SPARKIFY_REPORT_DIR") or DEFAULTS["sparkify_report_dir"], PROJECT_ROOT
    )


def fetch(name: str) -> int:
    """Download the newest (or the named) published page into the local report folder."""
    from local_stack.settings import AWS_CONN_VAR, load_settings

    if AWS_CONN_VAR not in os.environ:  # the local stack's moto S3, with any SPARKIFY_S3_PORT override
        os.environ[AWS_CONN_VAR] = load_settings().environment()[AWS_CONN_VAR]
    from sparkify.report.storage import REPORT_NAME, latest_report, report_location

    location = os.environ.get("AIRFLOW_VAR_SPARKIFY_REPORT_LOCATION") or DEFAULTS["sparkify_report_location"]
    aws_conn_id = os.environ.get("AIRFLOW_VAR_SPARKIFY_AWS_CONN_ID") or DEFAULTS["sparkify_aws_conn_id"]
    if name != "latest" and not REPORT_NAME.match(name):
        print(
            f"error: FETCH must be 'latest' or a page's name (sparkify_report_<UTC time>.html), not {name!r}",
            file=sys.stderr,
        )
        return 2
    try:
        folder = report_location(location, aws_conn_id)
        source = latest_report(folder) if name == "latest" else folder / name
        if source is None or not source.exists():
            print(
                f"error: no report {'yet ' if name == 'latest' else name + ' '}in {folder}. "
                f"sparkify_report writes one after each sparkify_etl run that loads the star schema.",
                file=sys.stderr,
            )
            return 2
        page = source.read_bytes().decode("utf-8")
    except Exception as error:  # botocore and fsspec errors: name the location, never the credentials
        print(
            f"error: cannot read the reports in {location} (connection {aws_conn_id}): {type(error).__name__}: {error}",
            file=sys.stderr,
        )
        return 2
    path = write_local_copy(page, local_report_dir())
    print(f"Fetched {source}\nReport written to {path}")
    return 0


def cannot_connect(warehouse: ReportWarehouse, error: Exception) -> str:
    if not warehouse.from_environment:
        return (
            f"cannot connect to the local warehouse at {warehouse.where}. Start it with `make up` "
            f"(and load data with `make demo` or `make run`)."
        )
    reason = " ".join(str(error).split())  # libpq's message: host, port, user, never the password
    return (
        f"cannot connect to the warehouse at {warehouse.where} ({warehouse.source}): {reason}\n"
        f"Check that connection: for a cluster, that it is available (sparkify_infra) and its port is open to "
        f"this machine; for the local stack, unset {warehouse.source} or start it with `make up`."
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
