"""The alternatives a user would pick, written the way their users write them.

* pandas: fetch the day file, `read_json(lines=True)`, fix the two columns the table
  cannot take as they are (epoch-millisecond `ts`, and `userId` "" for logged-out
  traffic), then `to_sql` in one transaction with the table emptied first: with
  `method="multi"` (the issue's peer), and with pandas' default method, which is far faster
  here (SQLAlchemy 2 batches the rows of its executemany into multi-row INSERTs itself).
* naive: fetch the day file, `json.loads` each line and `INSERT` it, one row at a time,
  in one transaction (psycopg's default), after emptying the table.
* sequential S3Hook: the pattern of many public Sparkify DAGs that do not use COPY:
  `S3Hook.list_keys`, then `read_key` and `json.loads` per file, one after the other,
  then `PostgresHook.insert_rows`.

pandas is imported here only: it is a peer, never part of the load path.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

from local_stack.sample_data import EVENT_FIELDS

EVENT_COLUMNS = tuple(name.lower() for name in EVENT_FIELDS)  # staging_events, in table order
SONG_COLUMNS = (
    "num_songs",
    "artist_id",
    "artist_latitude",
    "artist_longitude",
    "artist_location",
    "artist_name",
    "song_id",
    "title",
    "duration",
    "year",
)
# method="multi" binds rows * columns parameters per INSERT, and PostgreSQL allows at most
# 65,535, so it needs a chunksize. Tried on 20,000 events: 10, 25, 50, 100 and 200 rows per
# INSERT all ran at about 4,000 rows/s, 1,000 at 1,700 and 3,000 at 1,500 (statement
# compilation grows faster than the chunk). The peer gets the fastest, 100.
PANDAS_MULTI_CHUNKSIZE = 100
_EPOCH = datetime(1970, 1, 1)


def pandas_stage_events(
    s3_client,
    bucket: str,
    key: str,
    sqlalchemy_url: str,
    table: str = "staging_events",
    method: str | None = None,
    chunksize: int | None = None,
) -> int:
    import pandas as pd
    import sqlalchemy

    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    frame = pd.read_json(io.BytesIO(body), lines=True)
    frame.columns = frame.columns.str.lower()
    frame["ts"] = pd.to_datetime(frame["ts"], unit="ms")
    frame["userid"] = pd.to_numeric(frame["userid"], errors="coerce").astype("Int64")
    engine = sqlalchemy.create_engine(sqlalchemy_url)
    try:
        with engine.begin() as connection:
            connection.execute(sqlalchemy.text(f"DELETE FROM {table}"))
            frame.to_sql(table, connection, if_exists="append", index=False, method=method, chunksize=chunksize)
    finally:
        engine.dispose()
    return len(frame)


def naive_stage_events(s3_client, bucket: str, key: str, dsn: str, table: str = "staging_events") -> int:
    import psycopg

    body = s3_client.get_object(Bucket=bucket, Key=key)["Body"].read()
    insert = f"INSERT INTO {table} ({', '.join(EVENT_COLUMNS)}) VALUES ({', '.join(['%s'] * len(EVENT_COLUMNS))})"
    rows = 0
    with psycopg.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table}")
        for line in body.decode("utf-8").splitlines():
            event = json.loads(line)
            values = [event[name] for name in EVENT_FIELDS]
            values[EVENT_FIELDS.index("ts")] = _EPOCH + timedelta(milliseconds=event["ts"])
            values[EVENT_FIELDS.index("userId")] = int(event["userId"]) if event["userId"] else None
            cursor.execute(insert, values)
            rows += 1
    return rows  # leaving `with psycopg.connect` commits


def sequential_stage_songs(
    bucket: str,
    prefix: str,
    table: str = "staging_songs",
    aws_conn_id: str = "aws_default",
    postgres_conn_id: str = "postgres_default",
) -> int:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.providers.postgres.hooks.postgres import PostgresHook

    s3 = S3Hook(aws_conn_id=aws_conn_id)
    rows = []
    for key in s3.list_keys(bucket_name=bucket, prefix=prefix):
        song = json.loads(s3.read_key(key, bucket_name=bucket))
        rows.append(tuple(song.get(column) for column in SONG_COLUMNS))
    warehouse = PostgresHook(postgres_conn_id=postgres_conn_id)
    warehouse.run(f"DELETE FROM {table}")
    warehouse.insert_rows(table, rows, target_fields=SONG_COLUMNS)
    return len(rows)
