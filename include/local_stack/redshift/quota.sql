-- Redshift's table quota, created by the emulator in each database it serves (catalog.CATALOG_SQL).
-- Idempotent. The emulator writes the quota row after running this file (quota.write_quota).
--
-- A cluster holds at most so many tables by node type: 9,900 for the large and xlarge types,
-- "including permanent tables, temporary tables, datashare tables, and materialized views";
-- views and system tables are not counted
-- (https://docs.aws.amazon.com/redshift/latest/mgmt/amazon-redshift-limits.html). A CREATE TABLE
-- beyond it fails with ERROR 1040, "Maximum tables limit exceeded".
CREATE SCHEMA IF NOT EXISTS redshift_emulator;

-- The quota this database enforces: one row, written by the emulator at start from its node type.
CREATE TABLE IF NOT EXISTS redshift_emulator.table_quota (
    singleton  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    node_type  TEXT    NOT NULL,
    max_tables INTEGER NOT NULL CHECK (max_tables > 0)
);

-- The tables that count: ordinary, partitioned, foreign tables and materialized views of every
-- schema but the system's and the emulator's own, temporary tables of every session included.
-- Tables that other transactions are creating and have not committed are invisible here; see
-- table_count() for those.
CREATE OR REPLACE VIEW redshift_emulator.counted_tables AS
SELECT c.oid, n.nspname, c.relname, c.relkind, c.relpersistence
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p', 'f', 'm')
  AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast', 'redshift_emulator')
  AND (n.nspname !~ '^pg_' OR n.nspname ~ '^pg_temp_')
  AND NOT (n.nspname = 'public' AND c.relname IN (  -- the system tables of catalog.sql
      'stl_load_errors', 'stv_emulator_last_copy', 'stl_emulator_load_history', 'stl_emulator_load_commits',
      'stl_emulator_query_history'));

-- The number of counted tables, with those other transactions are creating. A transaction holds an
-- ACCESS EXCLUSIVE lock on each relation it creates until it ends, and pg_locks shows locks, not
-- snapshots: so the relations locked so that this transaction cannot see them are counted too. The
-- locks are read first, and the catalog after (a new snapshot at READ COMMITTED): a transaction that
-- commits in between is in one of the two. Such a relation may be an index or a sequence of the new
-- table: near the quota, concurrent creations can be refused a little early, never let past it.
CREATE OR REPLACE FUNCTION redshift_emulator.table_count() RETURNS BIGINT
LANGUAGE plpgsql VOLATILE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    locked OID[];
    visible BIGINT;
    unseen BIGINT;
BEGIN
    SELECT array_agg(DISTINCT l.relation) INTO locked
    FROM pg_locks l
    WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.granted
      AND l.database = (SELECT d.oid FROM pg_database d WHERE d.datname = current_database())
      AND l.pid IS DISTINCT FROM pg_backend_pid();
    SELECT count(*) INTO visible FROM redshift_emulator.counted_tables;
    SELECT count(*) INTO unseen FROM unnest(locked) AS r(oid)
    WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.oid);
    RETURN visible + unseen;
END
$$;

-- Near the quota, creations serialize on this row before they count. At READ COMMITTED the count after
-- the row lock sees every creation that held it before. At SERIALIZABLE (client sessions) a table
-- committed after this transaction's snapshot is invisible to the count; but its creator, near the
-- quota too, updated the row, so this update fails with a serialization failure (Redshift's 1023, a
-- transient error to retry) instead of letting the count pass the quota. Far from the quota (more than
-- QUOTA_SLACK below it, in this transaction's view) creations do not serialize.
CREATE TABLE IF NOT EXISTS redshift_emulator.table_creations (
    singleton BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (singleton),
    last_pid  INTEGER
);
INSERT INTO redshift_emulator.table_creations (singleton) SELECT TRUE
WHERE NOT EXISTS (SELECT 1 FROM redshift_emulator.table_creations);
-- After CREATE TABLE, CREATE TABLE AS, SELECT INTO and CREATE MATERIALIZED VIEW: refuse the new table
-- when the count passes the quota, with Redshift's error (its message is the error number, 1040, and
-- SQLSTATE XX000, as for Redshift's 1023). The statement, and so the table, is rolled back.
CREATE OR REPLACE FUNCTION redshift_emulator.enforce_table_quota() RETURNS EVENT_TRIGGER
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    quota redshift_emulator.table_quota;
    counted BIGINT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger_ddl_commands() d WHERE d.classid = 'pg_class'::REGCLASS) THEN
        RETURN;  -- CREATE TABLE IF NOT EXISTS of a table that exists: nothing was created
    END IF;
    SELECT * INTO quota FROM redshift_emulator.table_quota q WHERE q.singleton;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    counted := redshift_emulator.table_count();
    IF counted <= quota.max_tables - 1000 THEN  -- QUOTA_SLACK: far from the quota
        RETURN;
    END IF;
    IF counted <= quota.max_tables THEN  -- near it: serialize with the other creations, then count again
        UPDATE redshift_emulator.table_creations SET last_pid = pg_backend_pid() WHERE singleton;
        counted := redshift_emulator.table_count();
    END IF;
    IF counted <= quota.max_tables THEN
        RETURN;
    END IF;
    RAISE EXCEPTION '1040' USING ERRCODE = 'XX000',
        DETAIL = format('Maximum tables limit exceeded. The maximum number of tables per cluster is %s for this '
                        'instance type. The limit includes permanent and temporary tables. (pid:%s)',
                        quota.max_tables, pg_backend_pid()),
        HINT = format('The local emulator enforces the quota of node type %s (SPARKIFY_REDSHIFT_NODE_TYPE). '
                      'Drop tables that are no longer needed.', quota.node_type);
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'redshift_emulator_table_quota') THEN
        CREATE EVENT TRIGGER redshift_emulator_table_quota ON ddl_command_end
            WHEN TAG IN ('CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO', 'CREATE MATERIALIZED VIEW')
            EXECUTE FUNCTION redshift_emulator.enforce_table_quota();
    END IF;
END
$$;

-- Every user may read the quota and the count; only the emulator writes the quota.
GRANT USAGE ON SCHEMA redshift_emulator TO PUBLIC;
REVOKE ALL ON redshift_emulator.table_quota FROM PUBLIC;
GRANT SELECT ON redshift_emulator.table_quota, redshift_emulator.counted_tables TO PUBLIC;
GRANT EXECUTE ON FUNCTION redshift_emulator.table_count() TO PUBLIC;
GRANT SELECT, UPDATE ON redshift_emulator.table_creations TO PUBLIC;
