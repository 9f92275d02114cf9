-- What Redshift has and PostgreSQL lacks, created by the emulator in each database it serves.
-- Idempotent; run on every side connection.
CREATE SEQUENCE IF NOT EXISTS stl_query_id_seq;
CREATE SCHEMA IF NOT EXISTS redshift_emulator;

-- The system logs below are written over side connections, committed at once, as Redshift's are not
-- transactional. A SERIALIZABLE transaction whose snapshot is older cannot see those rows; so before a
-- statement of a transaction block that names a log view, the emulator reads the session's rows logged
-- since its transaction began (READ COMMITTED, on a side connection) and sets them, as JSON, in the
-- transaction's own settings redshift_emulator.overlay_<log> (SET LOCAL; session.py). Each log view
-- is the table's rows whose query is not in the overlay, and the overlay's rows.
CREATE OR REPLACE FUNCTION redshift_emulator.log_overlay(log TEXT) RETURNS JSON LANGUAGE sql STABLE AS $$
    SELECT COALESCE(NULLIF(current_setting('redshift_emulator.overlay_' || log, true), ''), '[]')::json
$$;

-- Redshift's load-error log: one row per rejected input row (and per failed file); stl_load_errors.
CREATE TABLE IF NOT EXISTS redshift_emulator.load_errors (
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

CREATE OR REPLACE VIEW stl_load_errors AS
WITH own AS MATERIALIZED (
    SELECT * FROM json_populate_recordset(NULL::redshift_emulator.load_errors,
                                          redshift_emulator.log_overlay('load_errors'))
)
SELECT e.* FROM redshift_emulator.load_errors e WHERE NOT EXISTS (SELECT FROM own o WHERE o.query = e.query)
UNION ALL
SELECT * FROM own;

-- The last COPY of each backend session, written outside the session's transaction so that
-- pg_last_copy_id() still names a failed load after its rollback, as on Redshift. A SERIALIZABLE
-- transaction does not see that row when its snapshot is older than the COPY, so the COPY also sets
-- the session's redshift_emulator.last_copy ('<query> <rows>') inside the transaction; the newer wins
-- (for the same COPY, the setting: the snapshot may hold the row the COPY wrote as it began, 0 rows).
CREATE TABLE IF NOT EXISTS stv_emulator_last_copy (
    session INTEGER PRIMARY KEY,
    query   INTEGER NOT NULL,
    rows    BIGINT  NOT NULL
);

CREATE OR REPLACE FUNCTION redshift_emulator_last_copy(OUT query INTEGER, OUT rows BIGINT) LANGUAGE sql STABLE AS $$
    SELECT last.query, last.rows FROM (
        SELECT c.query, c.rows, 0 AS own FROM stv_emulator_last_copy c WHERE c.session = pg_backend_pid()
        UNION ALL
        SELECT split_part(v, ' ', 1)::INTEGER, split_part(v, ' ', 2)::BIGINT, 1
        FROM (SELECT NULLIF(current_setting('redshift_emulator.last_copy', true), '') AS v) s
        WHERE v IS NOT NULL
    ) last ORDER BY last.query DESC, last.own DESC LIMIT 1
$$;

CREATE OR REPLACE FUNCTION pg_last_copy_id() RETURNS INTEGER LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT query FROM redshift_emulator_last_copy()), -1)
$$;

CREATE OR REPLACE FUNCTION pg_last_copy_count() RETURNS BIGINT LANGUAGE sql STABLE AS $$
    SELECT COALESCE((SELECT rows FROM redshift_emulator_last_copy()), 0)
$$;

-- Redshift's GETDATE(): the current statement's time, without time zone.
CREATE OR REPLACE FUNCTION getdate() RETURNS TIMESTAMP LANGUAGE sql STABLE AS $$
    SELECT date_trunc('second', statement_timestamp() AT TIME ZONE 'UTC')
$$;

-- One row per COPY (catalog.record_load_start; record_last_copy or record_load_errors end it); sys_load_history.
CREATE TABLE IF NOT EXISTS stl_emulator_load_history (
    query_id      INTEGER PRIMARY KEY,
    user_id       INTEGER,
    session_id    INTEGER,
    database_name TEXT,
    table_name    TEXT,
    table_id      INTEGER,
    data_source   TEXT,
    file_format   TEXT,
    start_time    TIMESTAMP,
    end_time      TIMESTAMP,
    loaded_rows   BIGINT,
    status        TEXT,    -- running, completed or aborted
    copier        INTEGER  -- backend pid of the side connection that ran the COPY
);

-- One row per file a COPY read (catalog.record_load_commits), for stl_load_commits and the file
-- counts of sys_load_history; written when the COPY ends, whether it loaded or failed.
CREATE TABLE IF NOT EXISTS stl_emulator_load_commits (
    query         INTEGER NOT NULL,
    filename      TEXT    NOT NULL,
    lines_scanned INTEGER NOT NULL,
    bytes         BIGINT,
    curtime       TIMESTAMP NOT NULL,
    file_format   TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS stl_emulator_load_commits_query ON stl_emulator_load_commits (query);

-- The loads and the files they read, the session's own logged rows (the overlay) included.
CREATE OR REPLACE VIEW redshift_emulator.load_history AS
WITH own AS MATERIALIZED (
    SELECT * FROM json_populate_recordset(NULL::stl_emulator_load_history,
                                          redshift_emulator.log_overlay('load_history'))
)
SELECT h.* FROM stl_emulator_load_history h WHERE NOT EXISTS (SELECT FROM own o WHERE o.query_id = h.query_id)
UNION ALL
SELECT * FROM own;

CREATE OR REPLACE VIEW redshift_emulator.load_commits AS
WITH own AS MATERIALIZED (
    SELECT * FROM json_populate_recordset(NULL::stl_emulator_load_commits,
                                          redshift_emulator.log_overlay('load_commits'))
)
SELECT c.* FROM stl_emulator_load_commits c WHERE NOT EXISTS (SELECT FROM own o WHERE o.query = c.query)
UNION ALL
SELECT * FROM own;

-- One row per statement a client sent (query_history.py writes them in batches); stl_query.
CREATE TABLE IF NOT EXISTS stl_emulator_query_history (
    query     INTEGER PRIMARY KEY,
    userid    INTEGER,
    pid       INTEGER,
    database  TEXT,
    querytxt  TEXT,
    starttime TIMESTAMP
);

CREATE OR REPLACE VIEW redshift_emulator.query_history AS
WITH own AS MATERIALIZED (
    SELECT * FROM json_populate_recordset(NULL::stl_emulator_query_history,
                                          redshift_emulator.log_overlay('query_history'))
)
SELECT q.* FROM stl_emulator_query_history q WHERE NOT EXISTS (SELECT FROM own o WHERE o.query = q.query)
UNION ALL
SELECT * FROM own;

-- STL_LOADERROR_DETAIL: the field that failed to parse, one row per reject that names a column.
-- Redshift also lists the fields parsed before it; the emulator records only the failing one.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOADERROR_DETAIL.html
CREATE OR REPLACE VIEW stl_loaderror_detail AS
SELECT e.userid,
       e.slice,
       e.session,
       e.query,
       e.filename,
       e.line_number,
       (SELECT count(*) FROM pg_attribute a
         WHERE a.attrelid = e.tbl AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attnum <= (SELECT b.attnum FROM pg_attribute b
                             WHERE b.attrelid = e.tbl AND b.attname = rtrim(e.colname)))::integer AS field,
       e.colname::character(1024) AS colname,
       e.raw_field_value AS value,
       0 AS is_null,
       e.type,
       e.col_length
FROM stl_load_errors e
WHERE rtrim(e.colname) <> '';

-- Redshift's name of a column type (int4, varchar, ...: the page's example shows int4) from the label the
-- loader records in stl_load_errors.type (PostgreSQL's name, cut to 10 bytes), for a table that is gone
-- (dropped, or created in a transaction that rolled back); NULL for a label it does not know.
CREATE OR REPLACE FUNCTION stv_emulator_type_name(label TEXT) RETURNS CHARACTER(10) LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN label = 'smallint' THEN 'int2'
        WHEN label = 'integer' THEN 'int4'
        WHEN label = 'bigint' THEN 'int8'
        WHEN label = 'real' THEN 'float4'
        WHEN label LIKE 'double pre%' THEN 'float8'
        WHEN label LIKE 'numeric%' THEN 'numeric'
        WHEN label = 'boolean' THEN 'bool'
        WHEN label LIKE 'character(%' THEN 'bpchar'
        WHEN label LIKE 'character %' THEN 'varchar'
        WHEN label LIKE 'timestamp%' THEN 'timestamp'
        WHEN label IN ('date', 'text') THEN label
        END
$$;

-- SYS_LOAD_ERROR_DETAIL: the rows of stl_load_errors under the SYS view's names.
-- https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_ERROR_DETAIL.html
CREATE OR REPLACE VIEW sys_load_error_detail AS
SELECT e.userid AS user_id,
       e.query::bigint AS query_id,
       NULL::bigint AS transaction_id,
       e.session AS session_id,
       current_database()::character(64) AS database_name,
       e.tbl AS table_id,
       e.starttime AS start_time,
       e.filename AS file_name,
       e.line_number,
       e.colname AS column_name,
       COALESCE((SELECT t.typname::character(10) FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
                  WHERE a.attrelid = e.tbl AND a.attname = rtrim(e.colname) AND a.attnum > 0),
                stv_emulator_type_name(e.type)) AS column_type,
       e.col_length AS column_length,
       e.position,
       e.err_code AS error_code,
       e.err_reason::character(512) AS error_message
FROM stl_load_errors e;

-- SYS_LOAD_HISTORY: one row per COPY. A COPY whose side connection is gone without finishing it
-- failed: 'aborted'. A COPY that completed stays 'completed' when the client's transaction rolls back.
-- https://docs.aws.amazon.com/redshift/latest/dg/SYS_LOAD_HISTORY.html
CREATE OR REPLACE VIEW sys_load_history AS
SELECT h.user_id,
       h.query_id::bigint AS query_id,
       NULL::bigint AS transaction_id,
       h.session_id,
       h.database_name,
       CASE WHEN h.status <> 'running' THEN h.status
            WHEN EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = h.copier) THEN 'running'
            ELSE 'aborted' END AS status,
       h.table_name,
       h.start_time,
       h.end_time,
       (extract(epoch FROM h.end_time - h.start_time) * 1000000)::bigint AS duration,
       h.data_source,
       h.file_format,
       h.loaded_rows,
       NULL::bigint AS loaded_bytes,
       f.files AS source_file_count,
       f.bytes AS source_file_bytes,
       f.files AS file_count_scanned,
       f.bytes AS file_bytes_scanned,
       (SELECT count(*) FROM stl_load_errors e WHERE e.query = h.query_id) AS error_count,
       0::bigint AS copy_job_id
FROM redshift_emulator.load_history h
CROSS JOIN LATERAL (SELECT count(*)::integer AS files, sum(c.bytes)::bigint AS bytes
                    FROM redshift_emulator.load_commits c WHERE c.query = h.query_id) f;

-- STL_LOAD_COMMITS: one row per file a COPY read, whether or not its transaction committed (as the
-- page says of Redshift's). A file is never split into scan ranges here (is_partial 0, start_offset 0);
-- lines_scanned is the last line of the file's last record, rejected ones included. The columns the
-- page calls internal or system-defined are NULL.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_STL_LOAD_COMMITS.html
CREATE OR REPLACE VIEW stl_load_commits AS
SELECT h.user_id AS userid,
       c.query,
       0 AS slice,
       NULL::character(256) AS name,
       c.filename::character(256) AS filename,
       NULL::integer AS byte_offset,
       c.lines_scanned,
       NULL::integer AS errors,
       c.curtime,
       NULL::integer AS status,
       c.file_format::character(16) AS file_format,
       0 AS is_partial,
       0::bigint AS start_offset,
       0::bigint AS copy_job_id
FROM redshift_emulator.load_commits c
LEFT JOIN redshift_emulator.load_history h ON h.query_id = c.query;

-- STL_QUERY: one row per statement a client sent; what the emulator does not see is NULL.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_STL_QUERY.html
CREATE OR REPLACE VIEW stl_query AS
SELECT q.userid,
       q.query,
       'default'::character(320) AS label,
       NULL::bigint AS xid,
       q.pid,
       q.database::character(32) AS database,
       q.querytxt::character(4000) AS querytxt,
       q.starttime,
       NULL::timestamp AS endtime,
       NULL::integer AS aborted,
       NULL::integer AS insert_pristine,
       0 AS concurrency_scaling_status
FROM redshift_emulator.query_history q;

-- SYS_QUERY_HISTORY: the same statements under the SYS view's names.
-- https://docs.aws.amazon.com/redshift/latest/dg/SYS_QUERY_HISTORY.html
CREATE OR REPLACE VIEW sys_query_history AS
SELECT q.userid AS user_id,
       q.query::bigint AS query_id,
       'default'::character(320) AS query_label,
       NULL::bigint AS transaction_id,
       q.pid AS session_id,
       q.database::character(128) AS database_name,
       (CASE upper(substring(q.querytxt FROM '^\s*(\w+)'))
            WHEN 'WITH' THEN 'SELECT'
            WHEN 'SELECT' THEN CASE WHEN q.querytxt ~* '^\s*select\s[^;]*\sinto\s' THEN 'CTAS' ELSE 'SELECT' END
            WHEN 'INSERT' THEN 'INSERT' WHEN 'UPDATE' THEN 'UPDATE' WHEN 'DELETE' THEN 'DELETE'
            WHEN 'COPY' THEN 'COPY' WHEN 'UNLOAD' THEN 'UNLOAD'
            WHEN 'CREATE' THEN CASE WHEN q.querytxt ~* '^\s*create\s[^;]*\stable\s[^;]*\sas\s' THEN 'CTAS' ELSE 'DDL' END
            WHEN 'ALTER' THEN 'DDL' WHEN 'DROP' THEN 'DDL' WHEN 'TRUNCATE' THEN 'DDL'
            ELSE 'UTILITY' END)::character(32) AS query_type,
       NULL::character(10) AS status,
       NULL::boolean AS result_cache_hit,
       q.starttime AS start_time,
       NULL::timestamp AS end_time,
       NULL::bigint AS elapsed_time,
       NULL::bigint AS queue_time,
       NULL::bigint AS execution_time,
       NULL::character(512) AS error_message,
       NULL::bigint AS returned_rows,
       NULL::bigint AS returned_bytes,
       q.querytxt::character(4000) AS query_text,
       NULL::character(256) AS redshift_version,
       NULL::character(150) AS usage_limit,
       'primary'::varchar(32) AS compute_type,
       NULL::bigint AS compile_time,
       NULL::bigint AS planning_time,
       NULL::bigint AS lock_wait_time
FROM redshift_emulator.query_history q;

-- Each table's distribution style and key, and whether its sort key is interleaved, as its CREATE
-- TABLE declared them: the DDL rewrite (ddl_rewrite.py) calls record_layout in its DO block, in the
-- statement's transaction. A table without a row has Redshift's defaults: DISTSTYLE AUTO, a compound
-- sort key. Keyed by oid and attnum, as pg_constraint is: RENAME needs no bookkeeping.

CREATE TABLE IF NOT EXISTS redshift_emulator.table_layout (
    relid       OID     PRIMARY KEY,       -- the table (pg_class.oid)
    diststyle   TEXT    NOT NULL CHECK (diststyle IN ('AUTO', 'EVEN', 'KEY', 'ALL')),
    distkey     INT2,                      -- the distribution key's attnum (DISTSTYLE KEY)
    interleaved BOOLEAN NOT NULL DEFAULT FALSE
);

-- Record the layout of `rel`: `diststyle` NULL keeps the recorded one (or AUTO), `interleaved` NULL
-- keeps the recorded sort style. A DISTKEY makes the style KEY, as on Redshift.
CREATE OR REPLACE FUNCTION redshift_emulator.record_layout(
    rel REGCLASS, diststyle TEXT, distkey TEXT, interleaved BOOLEAN
) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    key INT2;
    old redshift_emulator.table_layout;
BEGIN
    IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = rel), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', (SELECT c.relname FROM pg_class c WHERE c.oid = rel)
            USING ERRCODE = '42501';
    END IF;
    IF distkey IS NOT NULL THEN
        SELECT a.attnum INTO key FROM pg_attribute a
        WHERE a.attrelid = rel AND a.attname = distkey AND a.attnum > 0 AND NOT a.attisdropped;
        IF key IS NULL THEN
            RAISE EXCEPTION 'column "%" named in DISTKEY does not exist', distkey USING ERRCODE = '42703';
        END IF;
    END IF;
    -- Rows of tables that no longer exist (temporary tables end with their session, firing no trigger).
    DELETE FROM redshift_emulator.table_layout l WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = l.relid);
    SELECT * INTO old FROM redshift_emulator.table_layout l WHERE l.relid = rel;
    diststyle := CASE WHEN key IS NOT NULL THEN 'KEY' ELSE COALESCE(upper(diststyle), old.diststyle, 'AUTO') END;
    INSERT INTO redshift_emulator.table_layout (relid, diststyle, distkey, interleaved)
    VALUES (rel, diststyle, CASE WHEN diststyle = 'KEY' THEN COALESCE(key, old.distkey) END,
            COALESCE(interleaved, old.interleaved, FALSE))
    ON CONFLICT (relid) DO UPDATE SET diststyle = EXCLUDED.diststyle, distkey = EXCLUDED.distkey,
                                      interleaved = EXCLUDED.interleaved;
END
$$;

-- DROP TABLE and DROP SCHEMA ... CASCADE forget the layout of what they dropped; DROP COLUMN its distkey.
CREATE OR REPLACE FUNCTION redshift_emulator.forget_dropped_layout() RETURNS EVENT_TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM redshift_emulator.table_layout l
    USING pg_event_trigger_dropped_objects() d
    WHERE d.classid = 'pg_class'::REGCLASS AND d.objid = l.relid AND d.objsubid = 0;
    UPDATE redshift_emulator.table_layout l SET distkey = NULL
    FROM pg_event_trigger_dropped_objects() d
    WHERE d.classid = 'pg_class'::REGCLASS AND d.objid = l.relid AND d.objsubid = l.distkey;
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'redshift_emulator_forget_dropped_layout') THEN
        CREATE EVENT TRIGGER redshift_emulator_forget_dropped_layout ON sql_drop
            EXECUTE FUNCTION redshift_emulator.forget_dropped_layout();
    END IF;
END
$$;

GRANT USAGE ON SCHEMA redshift_emulator TO PUBLIC;
GRANT SELECT, INSERT, UPDATE, DELETE ON redshift_emulator.table_layout TO PUBLIC;

-- The user's ordinary tables: not the emulator's own tables above.
CREATE OR REPLACE VIEW stv_emulator_user_tables AS
SELECT c.oid, n.nspname, c.relname, c.relpersistence
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p')
  AND n.nspname <> 'information_schema'
  AND (n.nspname !~ '^pg_' OR n.oid = pg_my_temp_schema())
  AND n.nspname <> 'redshift_emulator'
  AND NOT (n.nspname = 'public' AND c.relname IN (
      'stl_load_errors', 'stv_emulator_last_copy', 'stl_emulator_load_history', 'stl_emulator_load_commits',
      'stl_emulator_query_history'));

-- The positions of a table's sort key: the DDL rewrite makes SORTKEY an index named <table>_sortkey_idx.
-- `interleaved`: the table's CREATE TABLE said INTERLEAVED SORTKEY (table_layout).
CREATE OR REPLACE VIEW stv_emulator_sortkeys AS
SELECT i.indrelid AS tbl, k.attnum, k.position::integer AS position,
       COALESCE((SELECT l.interleaved FROM redshift_emulator.table_layout l WHERE l.relid = i.indrelid), FALSE)
           AS interleaved
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid AND ic.relname LIKE '%\_sortkey\_idx' ESCAPE '\'
CROSS JOIN LATERAL unnest(i.indkey::smallint[]) WITH ORDINALITY AS k(attnum, position);

-- PG_TABLE_DEF: the columns of the tables visible on the search_path. Encoding is not kept by the
-- emulator (NULL); distkey is true for the table's distribution key (table_layout); sortkey is the
-- column's place in the sort key, 0 if none: in an interleaved sort key alternately negative and
-- positive, the first column negative, as the page's LINEORDER_INTERLEAVED example shows.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_PG_TABLE_DEF.html
CREATE OR REPLACE VIEW pg_table_def AS
SELECT t.nspname::name AS schemaname,
       t.relname::name AS tablename,
       a.attname::name AS "column",
       format_type(a.atttypid, a.atttypmod)::text AS type,
       NULL::character(32) AS encoding,
       COALESCE((SELECT l.distkey = a.attnum FROM redshift_emulator.table_layout l WHERE l.relid = t.oid),
                FALSE) AS distkey,
       COALESCE((SELECT CASE WHEN s.interleaved AND s.position % 2 = 1 THEN -s.position ELSE s.position END
                   FROM stv_emulator_sortkeys s
                  WHERE s.tbl = t.oid AND s.attnum = a.attnum LIMIT 1), 0) AS sortkey,
       a.attnotnull AS "notnull"
FROM stv_emulator_user_tables t
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE pg_table_is_visible(t.oid);

-- The exact number of rows in a table (SVV_TABLE_INFO.tbl_rows), read with the caller's privileges.
CREATE OR REPLACE FUNCTION stv_emulator_row_count(tbl OID) RETURNS BIGINT LANGUAGE plpgsql STABLE AS $$
DECLARE
    n BIGINT;
BEGIN
    EXECUTE format('SELECT count(*) FROM %s', tbl::regclass) INTO n;
    RETURN n;
END
$$;

-- SVV_TABLE_INFO: the user's tables that hold rows, with their exact row count and size in 1 MB
-- blocks. diststyle is what the CREATE TABLE declared (table_layout): EVEN, ALL or KEY(column), and
-- AUTO(ALL) for DISTSTYLE AUTO and for a table that declared none (Redshift's default; it starts a
-- small table as ALL: https://docs.aws.amazon.com/redshift/latest/dg/viewing-distribution-styles.html).
-- Encoding, skew and sortedness are not emulated (NULL).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_SVV_TABLE_INFO.html
CREATE OR REPLACE VIEW svv_table_info AS
SELECT current_database()::text AS database,
       t.nspname::text AS schema,
       t.oid AS table_id,
       t.relname::text AS "table",
       NULL::text AS encoded,
       COALESCE((SELECT CASE l.diststyle
                            WHEN 'KEY' THEN 'KEY(' || (SELECT a.attname FROM pg_attribute a
                                                        WHERE a.attrelid = l.relid AND a.attnum = l.distkey) || ')'
                            WHEN 'AUTO' THEN 'AUTO(ALL)'
                            ELSE l.diststyle END
                   FROM redshift_emulator.table_layout l WHERE l.relid = t.oid), 'AUTO(ALL)') AS diststyle,
       (SELECT a.attname::text FROM stv_emulator_sortkeys s
          JOIN pg_attribute a ON a.attrelid = s.tbl AND a.attnum = s.attnum
         WHERE s.tbl = t.oid AND s.position = 1 LIMIT 1) AS sortkey1,
       (SELECT max(a.atttypmod - 4) FROM pg_attribute a
         WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped
           AND a.atttypid = 'character varying'::regtype AND a.atttypmod > 4)::integer AS max_varchar,
       NULL::character(32) AS sortkey1_enc,
       (SELECT count(*) FROM stv_emulator_sortkeys s WHERE s.tbl = t.oid)::integer AS sortkey_num,
       ceil(pg_total_relation_size(t.oid) / 1048576.0)::bigint AS size,
       NULL::numeric(10,4) AS pct_used,
       NULL::bigint AS empty,
       NULL::numeric(5,2) AS unsorted,
       NULL::numeric(5,2) AS stats_off,
       r.rows::numeric(38,0) AS tbl_rows,
       NULL::numeric(19,2) AS skew_sortkey1,
       NULL::numeric(19,2) AS skew_rows,
       r.rows::numeric(38,0) AS estimated_visible_rows,
       NULL::text AS risk_event,
       NULL::numeric(12,2) AS vacuum_sort_benefit,
       NULL::timestamp AS create_time
FROM stv_emulator_user_tables t
CROSS JOIN LATERAL (SELECT stv_emulator_row_count(t.oid) AS rows) r
WHERE t.relpersistence <> 't' AND has_table_privilege(t.oid, 'SELECT') AND r.rows > 0;

-- Every user may read the load errors and its session's last COPY, as on Redshift; and the views above.
GRANT SELECT ON stl_load_errors, stv_emulator_last_copy, stl_loaderror_detail, sys_load_error_detail,
    sys_load_history, stl_load_commits, stl_query, sys_query_history, pg_table_def,
    svv_table_info TO PUBLIC;
