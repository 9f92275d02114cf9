"""What the warehouse holds: rows per table, the top songs, plays per hour."""

from __future__ import annotations

import psycopg

TABLES = ("staging_events", "staging_songs", "songplays", "users", "songs", "artists", "time")


def print_summary(dsn: str) -> None:
    with psycopg.connect(dsn) as conn:
        print("\nRows per table")
        for table in TABLES:
            count = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchall()[0][0]
            print(f"  {table:<15}{count:>10,}")
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
