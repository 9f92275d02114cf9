"""What the warehouse holds: the star schema's rows, the latest run's staging rows, the top songs, plays per hour.

Runs stage into run-scoped copies of the staging tables (sparkify.staging), registered in the
staging_tables registry; the base tables stay empty, so the latest run's copies are counted instead.
"""

from __future__ import annotations

import psycopg

from sparkify.report.text_table import format_table
from sparkify.staging import REGISTRY

STAR = ("songplays", "users", "songs", "artists", "time")
STAGING = ("staging_events", "staging_songs", "staging_song_files")


def count_rows(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchall()[0][0]


def latest_run_staging(conn: psycopg.Connection) -> tuple[str | None, list[tuple[str, str, int]]]:
    """The run that used its staging tables last, and (base table, its copy, rows) for each of them."""
    if conn.execute("SELECT to_regclass(%s)", (REGISTRY,)).fetchall()[0][0] is None:
        return None, []
    latest = conn.execute(f"SELECT run_id FROM {REGISTRY} ORDER BY created_at DESC, run_id LIMIT 1").fetchall()
    if not latest:
        return None, []
    run_id = latest[0][0]
    registered = conn.execute(
        f"SELECT table_name FROM {REGISTRY} WHERE run_id = %s AND to_regclass(quote_ident(table_name)) IS NOT NULL",
        (run_id,),
    ).fetchall()
    copies = {name.rsplit("__r", 1)[0]: name for (name,) in registered}
    return run_id, [(base, copies[base], count_rows(conn, copies[base])) for base in STAGING if base in copies]


def print_summary(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        print("\nStar schema")
        print(format_table(("table", "rows"), [(table, count_rows(conn, table)) for table in STAR]))
        run_id, staging = latest_run_staging(conn)
        kept_none = "\nStaging: no run's tables are kept (a run drops them when it ends; sparkify_keep_run_tables)"
        print(f"\nStaging of the latest run ({run_id})" if run_id else kept_none)
        if run_id:
            print(format_table(("table", "run's copy", "rows"), staging))
        print("\nTop five songs")
        top = conn.execute(
            """
            SELECT s.title, a.name, COUNT(*) AS plays
            FROM songplays p JOIN songs s USING (song_id) LEFT JOIN artists a ON a.artist_id = p.artist_id
            GROUP BY s.title, a.name ORDER BY plays DESC, s.title LIMIT 5
            """
        ).fetchall()
        for title, artist, plays in top:
            print(f"  {plays:>5}  {title} - {artist}")
        if not top:
            print("  (no songplay matched a catalogue song)")
        print("\nPlays per hour (UTC)")
        for hour, plays in conn.execute(
            "SELECT date_trunc('hour', start_time), COUNT(*) FROM songplays GROUP BY 1 ORDER BY 1"
        ).fetchall():
            print(f"  {hour:%Y-%m-%d %H:00}  {plays:>6}  {'#' * min(plays, 60)}")
