"""`python -m local_stack <command>`: the commands behind the Makefile targets."""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
from datetime import date
from pathlib import Path

from local_stack.airflow_services import AirflowServices, print_airflow_status, start_airflow
from local_stack.processes import StackError
from local_stack.redshift.quota import NODE_TYPE_VARIABLE
from local_stack.s3_server import S3Server, manifest_bucket, upload_folder
from local_stack.settings import PROJECT_ROOT, SettingsError, StackSettings, load_settings
from local_stack.warehouse_server import WarehouseServer

DEMO_DAY = "2018-11-15"
sys.path.insert(0, str(PROJECT_ROOT / "plugins"))
from sparkify.config import DEFAULTS  # noqa: E402
from sparkify.window import WindowError  # noqa: E402


def bucket_and_region() -> tuple[str, str]:
    """The bucket and region the DAG will read, honouring AIRFLOW_VAR_* overrides."""
    bucket = os.environ.get("AIRFLOW_VAR_SPARKIFY_S3_BUCKET", DEFAULTS["sparkify_s3_bucket"])
    region = os.environ.get("AIRFLOW_VAR_SPARKIFY_S3_REGION", DEFAULTS["sparkify_s3_region"])
    return bucket, region


def up(settings: StackSettings, with_airflow: bool = False, executor: str | None = None) -> None:
    warehouse, s3 = WarehouseServer(settings), S3Server(settings)
    restarted = s3.start()
    s3.ensure_bucket(manifest_bucket(), bucket_and_region()[1])
    warehouse.start()
    seeded_from = settings.state_dir / "s3" / "seeded-from"
    if restarted and seeded_from.exists():  # moto keeps objects in memory: restore the last seed
        folder = Path(seeded_from.read_text().strip())
        if folder.is_dir():
            seed(settings, folder, quiet=True)
    if with_airflow:
        start_airflow(AirflowServices(settings, executor=executor))
    status(settings)


def down(settings: StackSettings) -> None:
    airflow_stopped = AirflowServices(settings).stop()
    print(f"Airflow: {'stopped ' + ', '.join(airflow_stopped) if airflow_stopped else 'was not running'}")
    s3_stopped = S3Server(settings).stop()
    warehouse_stopped = WarehouseServer(settings).stop()
    print(f"local S3: {'stopped' if s3_stopped else 'was not running'}")
    print(f"local warehouse: {'stopped' if warehouse_stopped else 'was not running'}")


def status(settings: StackSettings) -> None:
    warehouse, s3 = WarehouseServer(settings), S3Server(settings)
    s = settings
    print(
        f"warehouse (Redshift emulator on PostgreSQL): {'running' if warehouse.is_running() else 'stopped'}"
        f"  postgresql://{s.warehouse_user}@{s.warehouse_host}:{s.warehouse_port}/{s.warehouse_db}"
    )
    print(f"  login {s.warehouse_user}: its password is in {s.passwords_file} (0600, yours to read; never printed)")
    print(table_quota_line(s, warehouse.enforced_table_quota()))
    print(f"S3 (moto): {'running' if s3.is_running() else 'stopped'}  {s.s3_endpoint}")
    print_airflow_status(AirflowServices(settings))
    print(f"state folder: {s.state_dir}")


def table_quota_line(settings: StackSettings, enforced: tuple[str, int] | None) -> str:
    """The warehouse's table quota: the running one's, and the settings' when they differ (applied at next start)."""
    wanted = settings.table_quota
    line = f"  table quota: {wanted.describe()}; set {NODE_TYPE_VARIABLE} to change it"
    if enforced is not None and enforced != (wanted.node_type, wanted.max_tables):
        node_type, tables = enforced
        line = (
            f"  table quota: {tables:,} tables ({node_type}); the settings ask for {wanted.describe()}: "
            "`make down` then `make up` to apply them"
        )
    return line


def seed(settings: StackSettings, folder: Path, quiet: bool = False) -> None:
    s3 = S3Server(settings)
    if not s3.is_running():
        up(settings)
    bucket, region = bucket_and_region()
    count = upload_folder(s3.client(), bucket, folder.resolve(), region)
    (settings.state_dir / "s3" / "seeded-from").write_text(str(folder.resolve()))
    if not quiet:
        print(f"Seeded s3://{bucket} with {count} files from {folder}")


def generate(settings: StackSettings, seed_value: int, songs: int, users: int) -> Path:
    from local_stack.sample_data import SampleSpec
    from local_stack.sample_data import generate as write_sample

    out = settings.sample_dir
    shutil.rmtree(out, ignore_errors=True)
    summary = write_sample(out, SampleSpec(seed=seed_value, songs=songs, users=users))
    print(
        f"Generated {summary.songs} songs in {summary.song_files} files and "
        f"{summary.events} events in {summary.log_files} day files under {out}"
    )
    return out


def run(settings: StackSettings, start: str, end: str, hourly: bool) -> bool:
    if not (WarehouseServer(settings).is_running() and S3Server(settings).is_running()):
        up(settings)
    os.environ.update(settings.environment())
    from sparkify.window import DEFAULT_MAX_WINDOW_DAYS, validate_window

    limit = os.environ.get("AIRFLOW_VAR_SPARKIFY_MAX_WINDOW_DAYS", DEFAULT_MAX_WINDOW_DAYS)
    window = validate_window(start, end, max_days=3660 if hourly else limit)  # validated there
    from local_stack import airflow_runner

    airflow_runner.migrate_metadata_db(settings.airflow_home)
    log_file = settings.state_dir / "logs" / "dag-runs.log"
    print(f"Running sparkify_etl over {window} (task logs: {log_file})", flush=True)
    runner = airflow_runner.run_hours if hourly else airflow_runner.run_window
    ok = runner(window.start, window.end, log_file)
    if not ok:
        print(f"A run failed; see {log_file}", file=sys.stderr)
    return ok


def backfill(settings: StackSettings, start: str, end: str, runs: str, reprocess: str) -> int:
    """`make backfill`: validate, start whatever of the stack is not running, then follow the backfill."""
    from local_stack.backfill import check_options, parse_hour_range, run_backfill

    hours = parse_hour_range(start, end)
    max_active_runs = check_options(runs, reprocess)
    services = AirflowServices(settings)
    if not (WarehouseServer(settings).is_running() and S3Server(settings).is_running() and services.is_running()):
        up(settings, with_airflow=True)
    try:
        result = run_backfill(
            services,
            hours.start,
            hours.end,
            max_active_runs,
            report=lambda line: print(line, flush=True),
            reprocess=reprocess,
        )
    except KeyboardInterrupt:
        return 130
    print(result.summary(), file=sys.stdout if result.ok else sys.stderr)
    return 0 if result.ok else 1


def summary(settings: StackSettings) -> None:
    from local_stack.summary import print_summary

    print_summary(WarehouseServer(settings).dsn())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local_stack", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up_cmd = commands.add_parser("up", help="start the local warehouse, S3 and Airflow")
    up_cmd.add_argument(
        "--executor",
        choices=["local", "celery"],
        help="local: PreloadingLocalExecutor, a LocalExecutor that preloads the tasks' libraries (the default), "
        "or celery: CeleryExecutor with a Redis broker and two workers",
    )
    commands.add_parser("down", help="stop them")
    commands.add_parser("status", help="print the endpoints")
    seed_cmd = commands.add_parser("seed", help="replace the bucket's contents with a folder")
    seed_cmd.add_argument("folder", type=Path)
    gen = commands.add_parser("generate", help="write deterministic sample data")
    gen.add_argument("--seed", type=int, default=42)
    gen.add_argument("--songs", type=int, default=120)
    gen.add_argument("--users", type=int, default=30)
    run_cmd = commands.add_parser("run", help="one DAG run over [start, end)")
    run_cmd.add_argument("start")
    run_cmd.add_argument("end")
    run_cmd.add_argument("--hourly", action="store_true", help="one run per hour instead")
    backfill_cmd = commands.add_parser("backfill", help="hourly runs over [start, end) on the live scheduler")
    backfill_cmd.add_argument("start")
    backfill_cmd.add_argument("end")
    backfill_cmd.add_argument("--runs", default="4", help="at most this many runs at a time (default 4)")
    backfill_cmd.add_argument(
        "--reprocess",
        default="completed",
        help="hours that already have a finished run: completed (run them again, the default), "
        "failed (only failed ones) or none",
    )
    commands.add_parser("summary", help="print what the warehouse holds")
    commands.add_parser("demo", help="generate, seed, run the demo day and print a summary")
    airflow_cmd = commands.add_parser("airflow", help="the airflow CLI, wired to the Airflow that `up` starts")
    airflow_cmd.add_argument(
        "--line",
        help="the arguments as one string, split like a shell would (shlex) "
        "but never run by one; `make airflow ARGS=...` passes them so",
    )
    airflow_cmd.add_argument("arguments", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if args.command == "up":
            up(settings, with_airflow=True, executor=args.executor)
        elif args.command == "down":
            down(settings)
        elif args.command == "status":
            status(settings)
        elif args.command == "seed":
            seed(settings, args.folder)
        elif args.command == "generate":
            generate(settings, args.seed, args.songs, args.users)
        elif args.command == "run":
            return 0 if run(settings, args.start, args.end, args.hourly) else 1
        elif args.command == "backfill":
            return backfill(settings, args.start, args.end, args.runs, args.reprocess)
        elif args.command == "airflow":
            arguments = shlex.split(args.line) if args.line is not None else args.arguments
            return AirflowServices(settings).run_cli(arguments)
        elif args.command == "summary":
            summary(settings)
        elif args.command == "demo":
            up(settings)
            seed(settings, generate(settings, 42, 120, 30))
            day = date.fromisoformat(DEMO_DAY)
            ok = run(settings, f"{day}T00:00:00+00:00", f"{day.replace(day=day.day + 1)}T00:00:00+00:00", hourly=True)
            summary(settings)
            return 0 if ok else 1
    except (StackError, WindowError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0
