-- What Redshift has and PostgreSQL lacks, created by the emulator in each database it serves.
-- Idempotent; run on every side connection.
CREATE SEQUENCE IF NOT EXISTS stl_query_id_seq;

-- Redshift's load-error log: one row per rejected input row (and per failed file).
CREATE TABLE IF NOT EXISTS stl_load_errors (
    userid          INTEGER,
    slice           INTEGER,
    tbl             INTEGER,
    starttime       TIMESTAMP,
    session         INTEGER,
    query           INTEGER,
    filename        CHARACTER(256),
    line_number     BIGINT,
    colname         CHARACTER(127),
    type            CHARACTER(10),
    col_length      CHARACTER(10),
    position        INTEGER,
    raw_line        CHARACTER(1024),
    raw_field_value CHARACTER(1024),
    err_code        INTEGER,
    err_reason      CHARACTER(100),
    is_partial      INTEGER,
    start_offset    BIGINT
);

-- The last COPY of each backend session, written outside the session's transaction so that
-- pg_last_copy_id() still names a failed load after its rollback, as on Redshift.
CREATE TABLE IF NOT EXISTS stv_emulator_last_copy (
    session INTEGER PRIMARY KEY,
    query   INTEGER NOT NULL,
    rows    BIGINT  NOT NULL
);

CREATE OR REPLACE FUNCTION pg_last_copy_id() RETURNS INTEGER LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT query FROM stv_emulator_last_copy WHERE session = pg_backend_pid()), -1)
$$;

CREATE OR REPLACE FUNCTION pg_last_copy_count() RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT rows FROM stv_emulator_last_copy WHERE session = pg_backend_pid()), 0)
$$;

-- Redshift's GETDATE(): the current statement's time, without time zone.
CREATE OR REPLACE FUNCTION getdate() RETURNS TIMESTAMP LANGUAGE sql STABLE AS $$
    SELECT date_trunc('second', statement_timestamp() AT TIME ZONE 'UTC')
$$;

-- Every user may read the load errors and its session's last COPY, as on Redshift.
GRANT SELECT ON stl_load_errors, stv_emulator_last_copy TO PUBLIC;
