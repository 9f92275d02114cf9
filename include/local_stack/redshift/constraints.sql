-- Redshift's informational constraints, created by the emulator in each database it serves.
-- Idempotent; run on every side connection (catalog.CATALOG_SQL).
--
-- On Redshift, PRIMARY KEY, UNIQUE and FOREIGN KEY are declared and recorded but not enforced
-- (https://docs.aws.amazon.com/redshift/latest/dg/t_Defining_constraints.html). The emulator's DDL
-- rewrite (ddl_rewrite.py) strips them from CREATE/ALTER TABLE, so PostgreSQL builds no unique
-- index and no trigger, and records them here in the same statement and transaction. A record
-- names its table and columns by oid and attnum, as pg_constraint does: RENAME needs no
-- bookkeeping; DROP TABLE and DROP COLUMN are followed by the event trigger below.
CREATE SCHEMA IF NOT EXISTS redshift_emulator;

CREATE TABLE IF NOT EXISTS redshift_emulator.recorded_constraints (
    conrelid  OID      NOT NULL,            -- the table (pg_class.oid)
    conname   NAME     NOT NULL,
    contype   "char"   NOT NULL CHECK (contype IN ('p', 'u', 'f')),
    conkey    INT2[]   NOT NULL,            -- the columns (pg_attribute.attnum), in key order
    confrelid OID      NOT NULL DEFAULT 0,  -- a foreign key's referenced table
    confkey   INT2[],                       -- and its columns
    PRIMARY KEY (conrelid, conname)
);

-- The attnums of `names` in `rel`, in order; 42703 for a name the table lacks.
CREATE OR REPLACE FUNCTION redshift_emulator.key_attnums(rel REGCLASS, names TEXT[]) RETURNS INT2[]
LANGUAGE plpgsql STABLE AS $$
DECLARE
    result INT2[] := '{}';
    column_name TEXT;
    attnum INT2;
BEGIN
    FOREACH column_name IN ARRAY names LOOP
        SELECT a.attnum INTO attnum FROM pg_attribute a
        WHERE a.attrelid = rel AND a.attname = column_name AND a.attnum > 0 AND NOT a.attisdropped;
        IF attnum IS NULL THEN
            RAISE EXCEPTION 'column "%" named in key does not exist', column_name USING ERRCODE = '42703';
        END IF;
        IF attnum = ANY (result) THEN
            RAISE EXCEPTION 'column "%" appears twice in the key', column_name USING ERRCODE = '42701';
        END IF;
        result := result || attnum;
    END LOOP;
    RETURN result;
END
$$;

-- Record constraint `conname` (NULL: PostgreSQL's default name) of kind `contype` ('p', 'u', 'f') on `rel`.
-- `added`: it comes from ALTER TABLE ... ADD, where Redshift refuses a primary key on a nullable
-- column (https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html); CREATE TABLE made
-- its primary-key columns NOT NULL itself.
CREATE OR REPLACE FUNCTION redshift_emulator.add_constraint(
    rel REGCLASS, conname TEXT, contype "char", columns TEXT[],
    ref REGCLASS DEFAULT NULL, ref_columns TEXT[] DEFAULT NULL, added BOOLEAN DEFAULT FALSE
) RETURNS VOID LANGUAGE plpgsql AS $$
DECLARE
    relname NAME := (SELECT c.relname FROM pg_class c WHERE c.oid = rel);
    key INT2[] := redshift_emulator.key_attnums(rel, columns);
    ref_key INT2[];
    suffix TEXT := CASE contype WHEN 'p' THEN 'pkey' WHEN 'u' THEN 'key' ELSE 'fkey' END;
    stem TEXT;
    n INT := 0;
BEGIN
    IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = rel), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', relname USING ERRCODE = '42501';
    END IF;
    IF contype = 'p' AND EXISTS (
        SELECT 1 FROM redshift_emulator.recorded_constraints r WHERE r.conrelid = rel AND r.contype = 'p'
        UNION ALL SELECT 1 FROM pg_constraint c WHERE c.conrelid = rel AND c.contype = 'p'
    ) THEN
        RAISE EXCEPTION 'multiple primary keys for table "%" are not allowed', relname USING ERRCODE = '42P16';
    END IF;
    IF contype = 'p' AND added AND EXISTS (
        SELECT 1 FROM pg_attribute a WHERE a.attrelid = rel AND a.attnum = ANY (key) AND NOT a.attnotnull
    ) THEN
        RAISE EXCEPTION 'can not make a nullable column a primary key' USING ERRCODE = '0A000';
    END IF;
    IF contype = 'f' THEN
        IF ref_columns IS NULL THEN  -- the referenced table's primary key
            SELECT r.conkey INTO ref_key FROM redshift_emulator.recorded_constraints r
            WHERE r.conrelid = ref AND r.contype = 'p';
            IF ref_key IS NULL THEN
                SELECT c.conkey INTO ref_key FROM pg_constraint c WHERE c.conrelid = ref AND c.contype = 'p';
            END IF;
            IF ref_key IS NULL THEN
                RAISE EXCEPTION 'there is no primary key for referenced table "%"',
                    (SELECT c.relname FROM pg_class c WHERE c.oid = ref) USING ERRCODE = '42830';
            END IF;
        ELSE
            ref_key := redshift_emulator.key_attnums(ref, ref_columns);
        END IF;
        IF cardinality(ref_key) <> cardinality(key) THEN
            RAISE EXCEPTION 'number of referencing and referenced columns for foreign key disagree'
                USING ERRCODE = '42830';
        END IF;
    END IF;
    IF conname IS NULL THEN  -- PostgreSQL's default: <table>_pkey, <table>_<columns>_key, <table>_<columns>_fkey
        stem := CASE WHEN contype = 'p' THEN relname ELSE relname || '_' || array_to_string(columns, '_') END;
        stem := left(stem, 62 - length(suffix));
        conname := stem || '_' || suffix;
        WHILE EXISTS (SELECT 1 FROM redshift_emulator.recorded_constraints r WHERE r.conrelid = rel AND r.conname = add_constraint.conname)
           OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = rel AND c.conname = add_constraint.conname) LOOP
            n := n + 1;
            conname := left(stem, 62 - length(suffix) - length(n::TEXT)) || '_' || suffix || n;
        END LOOP;
    ELSIF EXISTS (SELECT 1 FROM redshift_emulator.recorded_constraints r WHERE r.conrelid = rel AND r.conname = add_constraint.conname)
       OR EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conrelid = rel AND c.conname = add_constraint.conname) THEN
        RAISE EXCEPTION 'constraint "%" for relation "%" already exists', conname, relname USING ERRCODE = '42710';
    END IF;
    -- Records of tables that no longer exist (temporary tables end with their session, firing no trigger).
    DELETE FROM redshift_emulator.recorded_constraints r
    WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE c.oid = r.conrelid);
    INSERT INTO redshift_emulator.recorded_constraints (conrelid, conname, contype, conkey, confrelid, confkey)
    VALUES (rel, conname, contype, key, COALESCE(ref, 0), ref_key);
END
$$;

-- ALTER TABLE ... DROP CONSTRAINT: forget the recorded constraint `conname` of `rel`; false when
-- there is none (then PostgreSQL's own constraint of that name is dropped, or PostgreSQL reports
-- that there is none). Foreign keys that reference a dropped key go with CASCADE, else 2BP01.
CREATE OR REPLACE FUNCTION redshift_emulator.drop_constraint(rel REGCLASS, conname TEXT, with_cascade BOOLEAN)
RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE
    dropped redshift_emulator.recorded_constraints;
BEGIN
    SELECT * INTO dropped FROM redshift_emulator.recorded_constraints r
    WHERE r.conrelid = rel AND r.conname = drop_constraint.conname;
    IF NOT FOUND THEN
        RETURN FALSE;
    END IF;
    IF NOT pg_has_role((SELECT c.relowner FROM pg_class c WHERE c.oid = rel), 'USAGE') THEN
        RAISE EXCEPTION 'must be owner of table %', (SELECT c.relname FROM pg_class c WHERE c.oid = rel)
            USING ERRCODE = '42501';
    END IF;
    IF dropped.contype IN ('p', 'u') THEN
        IF NOT with_cascade AND EXISTS (
            SELECT 1 FROM redshift_emulator.recorded_constraints f
            WHERE f.contype = 'f' AND f.confrelid = rel AND f.confkey @> dropped.conkey AND f.confkey <@ dropped.conkey
        ) THEN
            RAISE EXCEPTION 'cannot drop constraint % on table % because other objects depend on it', conname,
                (SELECT c.relname FROM pg_class c WHERE c.oid = rel)
                USING ERRCODE = '2BP01', HINT = 'Use DROP ... CASCADE to drop the dependent objects too.';
        END IF;
        DELETE FROM redshift_emulator.recorded_constraints f
        WHERE f.contype = 'f' AND f.confrelid = rel AND f.confkey @> dropped.conkey AND f.confkey <@ dropped.conkey;
    END IF;
    DELETE FROM redshift_emulator.recorded_constraints r WHERE r.conrelid = rel AND r.conname = drop_constraint.conname;
    RETURN TRUE;
END
$$;

-- DROP TABLE, DROP SCHEMA ... CASCADE and ALTER TABLE ... DROP COLUMN forget the constraints on
-- what they dropped, and the foreign keys that reference it.
CREATE OR REPLACE FUNCTION redshift_emulator.forget_dropped() RETURNS EVENT_TRIGGER LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM redshift_emulator.recorded_constraints r
    USING pg_event_trigger_dropped_objects() d
    WHERE d.classid = 'pg_class'::REGCLASS
      AND (d.objsubid = 0 AND d.objid IN (r.conrelid, r.confrelid)
           OR d.objsubid > 0 AND (d.objid = r.conrelid AND d.objsubid = ANY (r.conkey)
                                  OR d.objid = r.confrelid AND d.objsubid = ANY (r.confkey)));
END
$$;

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger WHERE evtname = 'redshift_emulator_forget_dropped') THEN
        CREATE EVENT TRIGGER redshift_emulator_forget_dropped ON sql_drop
            EXECUTE FUNCTION redshift_emulator.forget_dropped();
    END IF;
END
$$;

-- Whether the relation named `rel` (as written in a query; the session's search path finds it) has a
-- recorded PRIMARY KEY or UNIQUE constraint all of whose columns are in `columns`: then Redshift's
-- planner may take the rows as distinct on `columns` (dialect/trusted_keys.py).
CREATE OR REPLACE FUNCTION redshift_emulator.trusted_key(rel TEXT, columns TEXT[]) RETURNS BOOLEAN
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (
        SELECT 1 FROM redshift_emulator.recorded_constraints r
        WHERE r.conrelid = to_regclass(rel) AND r.contype IN ('p', 'u')
          AND NOT EXISTS (
              SELECT 1 FROM unnest(r.conkey) AS k (attnum)
              JOIN pg_attribute a ON a.attrelid = r.conrelid AND a.attnum = k.attnum
              WHERE a.attname <> ALL (columns)
          )
    )
$$;

-- The recorded constraints that the current user may see (as information_schema shows tables).
CREATE OR REPLACE VIEW redshift_emulator.visible_constraints AS
SELECT r.*, c.relname, n.nspname
FROM redshift_emulator.recorded_constraints r
JOIN pg_class c ON c.oid = r.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE NOT pg_is_other_temp_schema(n.oid)
  AND (pg_has_role(c.relowner, 'USAGE')
       OR has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'));

-- information_schema.table_constraints with the recorded constraints (enforced = 'NO').
CREATE OR REPLACE VIEW redshift_emulator.table_constraints AS
SELECT t.constraint_catalog, t.constraint_schema, t.constraint_name, t.table_catalog, t.table_schema,
       t.table_name, t.constraint_type, t.is_deferrable, t.initially_deferred, t.enforced, t.nulls_distinct
FROM information_schema.table_constraints t
UNION ALL
SELECT current_database()::information_schema.sql_identifier,
       v.nspname::information_schema.sql_identifier,
       v.conname::information_schema.sql_identifier,
       current_database()::information_schema.sql_identifier,
       v.nspname::information_schema.sql_identifier,
       v.relname::information_schema.sql_identifier,
       (CASE v.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' ELSE 'FOREIGN KEY' END)
           ::information_schema.character_data,
       'NO'::information_schema.yes_or_no,
       'NO'::information_schema.yes_or_no,
       'NO'::information_schema.yes_or_no,
       (CASE WHEN v.contype IN ('p', 'u') THEN 'YES' END)::information_schema.yes_or_no
FROM redshift_emulator.visible_constraints v;

-- information_schema.key_column_usage with the recorded constraints' columns.
CREATE OR REPLACE VIEW redshift_emulator.key_column_usage AS
SELECT k.constraint_catalog, k.constraint_schema, k.constraint_name, k.table_catalog, k.table_schema,
       k.table_name, k.column_name, k.ordinal_position, k.position_in_unique_constraint
FROM information_schema.key_column_usage k
UNION ALL
SELECT current_database()::information_schema.sql_identifier,
       v.nspname::information_schema.sql_identifier,
       v.conname::information_schema.sql_identifier,
       current_database()::information_schema.sql_identifier,
       v.nspname::information_schema.sql_identifier,
       v.relname::information_schema.sql_identifier,
       a.attname::information_schema.sql_identifier,
       key.position::information_schema.cardinal_number,
       (SELECT array_position(u.conkey, v.confkey[key.position])
        FROM redshift_emulator.recorded_constraints u
        WHERE v.contype = 'f' AND u.conrelid = v.confrelid AND u.contype IN ('p', 'u')
          AND u.conkey @> v.confkey AND u.conkey <@ v.confkey
        ORDER BY u.contype LIMIT 1)::information_schema.cardinal_number
FROM redshift_emulator.visible_constraints v
CROSS JOIN LATERAL unnest(v.conkey) WITH ORDINALITY AS key (attnum, position)
JOIN pg_attribute a ON a.attrelid = v.conrelid AND a.attnum = key.attnum;

-- pg_constraint's columns that Redshift's pg_constraint has, with the recorded constraints
-- (their oid is NULL: they are no PostgreSQL objects); consrc is the constraint's definition.
-- PostgreSQL 18's NOT NULL rows (contype 'n') are left out: Redshift's pg_constraint has none.
CREATE OR REPLACE VIEW redshift_emulator.pg_constraint AS
SELECT c.oid, c.conname, c.connamespace, c.contype, c.condeferrable, c.condeferred, c.conrelid, c.contypid,
       c.confrelid, c.confupdtype, c.confdeltype, c.confmatchtype, c.conkey, c.confkey, c.conpfeqop,
       c.conppeqop, c.conffeqop, c.conbin, pg_get_constraintdef(c.oid) AS consrc
FROM pg_catalog.pg_constraint c
WHERE c.contype <> 'n'
UNION ALL
SELECT NULL::OID, v.conname, (SELECT c.relnamespace FROM pg_class c WHERE c.oid = v.conrelid), v.contype,
       FALSE, FALSE, v.conrelid, 0::OID, v.confrelid,
       (CASE WHEN v.contype = 'f' THEN 'a' ELSE ' ' END)::"char",
       (CASE WHEN v.contype = 'f' THEN 'a' ELSE ' ' END)::"char",
       (CASE WHEN v.contype = 'f' THEN 's' ELSE ' ' END)::"char",
       v.conkey, v.confkey, NULL::OID[], NULL::OID[], NULL::OID[], NULL::PG_NODE_TREE,
       (CASE v.contype WHEN 'p' THEN 'PRIMARY KEY' WHEN 'u' THEN 'UNIQUE' ELSE 'FOREIGN KEY' END)
       || ' (' || (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)
                   FROM unnest(v.conkey) WITH ORDINALITY AS k (attnum, n)
                   JOIN pg_attribute a ON a.attrelid = v.conrelid AND a.attnum = k.attnum) || ')'
       || CASE WHEN v.contype = 'f' THEN
              ' REFERENCES ' || v.confrelid::REGCLASS::TEXT || '(' ||
              (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY k.n)
               FROM unnest(v.confkey) WITH ORDINALITY AS k (attnum, n)
               JOIN pg_attribute a ON a.attrelid = v.confrelid AND a.attnum = k.attnum) || ')'
          ELSE '' END
FROM redshift_emulator.visible_constraints v;

-- Every user records, reads and forgets the constraints of the tables it owns, as on Redshift.
GRANT USAGE ON SCHEMA redshift_emulator TO PUBLIC;
GRANT SELECT, INSERT, DELETE ON redshift_emulator.recorded_constraints TO PUBLIC;
GRANT SELECT ON redshift_emulator.visible_constraints, redshift_emulator.table_constraints,
    redshift_emulator.key_column_usage, redshift_emulator.pg_constraint TO PUBLIC;
