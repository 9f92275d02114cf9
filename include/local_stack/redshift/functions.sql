-- Redshift's functions and operators that PostgreSQL lacks, created by the emulator in each
-- database it serves (after catalog.sql). Idempotent. The statement translator
-- (local_stack.redshift.dialect) rewrites what a function cannot express: unquoted and
-- abbreviated date parts (it passes the canonical name, e.g. 'dow'), SYSDATE, TOP, LISTAGG, NVL,
-- NVL2 and DECODE (as CASE, which types an untyped NULL or string literal as Redshift does).
-- Overloads taking text stand for string literals: PostgreSQL resolves an untyped literal to text
-- first, so DATEADD(day, 1, '2008-02-28') reads its literal as a TIMESTAMP, as Redshift does.

-- EXTRACT: INTEGER from a TIMESTAMP or TIME; only the named part (seconds without their fraction,
-- milliseconds without the seconds); DECADE from the common calendar (1999 is in decade 200).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_EXTRACT_function.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_Dateparts_for_datetime_functions.html
CREATE OR REPLACE FUNCTION redshift_extract(part TEXT, source TIMESTAMP) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE part
        WHEN 'second' THEN floor(date_part('second', source))
        WHEN 'millisecond' THEN floor(date_part('microseconds', source) / 1000)::bigint % 1000
        WHEN 'microsecond' THEN date_part('microseconds', source)::bigint % 1000
        WHEN 'decade' THEN floor(date_part('year', source) / 10) + 1
        ELSE date_part(part, source)
    END)::integer
$$;
CREATE OR REPLACE FUNCTION redshift_extract(part TEXT, source DATE) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_extract(part, source::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_extract(part TEXT, source TEXT) RETURNS INTEGER
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT redshift_extract(part, source::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_extract(part TEXT, source TIME) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_extract(part, DATE '2000-01-01' + source) $$;
CREATE OR REPLACE FUNCTION redshift_extract(part TEXT, source TIMETZ) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN part LIKE 'timezone%' THEN date_part(part, source)::integer
                ELSE redshift_extract(part, (source AT TIME ZONE 'UTC')::time) END
$$;
-- From a TIMESTAMPTZ: DOUBLE PRECISION, in the session's time zone.
CREATE OR REPLACE FUNCTION redshift_extract(part TEXT, source TIMESTAMPTZ) RETURNS DOUBLE PRECISION
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN part LIKE 'timezone%' OR part = 'epoch' THEN date_part(part, source)
                ELSE redshift_extract(part, source::timestamp)::double precision END
$$;

-- DATE_PART (and DATEPART, PGDATE_PART): DOUBLE PRECISION, seconds with their fraction; MICROSECOND
-- the fraction of the second only (the page: DATE_PART(microsecond, '... 04:05:06.789') is 789000).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_PART_function.html
CREATE OR REPLACE FUNCTION redshift_date_part(part TEXT, source TIMESTAMP) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE part
        WHEN 'decade' THEN floor(date_part('year', source) / 10) + 1
        WHEN 'microsecond' THEN (date_part('microseconds', source)::bigint % 1000000)::double precision
        ELSE date_part(part, source)
    END
$$;
CREATE OR REPLACE FUNCTION redshift_date_part(part TEXT, source DATE) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_date_part(part, source::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_date_part(part TEXT, source TEXT) RETURNS DOUBLE PRECISION
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT redshift_date_part(part, source::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_date_part(part TEXT, source TIME) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_date_part(part, DATE '2000-01-01' + source) $$;
CREATE OR REPLACE FUNCTION redshift_date_part(part TEXT, source TIMESTAMPTZ) RETURNS DOUBLE PRECISION
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN part LIKE 'timezone%' OR part = 'epoch' THEN date_part(part, source)
                ELSE redshift_date_part(part, source::timestamp) END
$$;

-- DATEADD: a TIMESTAMP from a DATE or TIMESTAMP (and a TIME from a TIME).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DATEADD_function.html
CREATE OR REPLACE FUNCTION redshift_interval(part TEXT, amount BIGINT) RETURNS INTERVAL
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT amount * CASE part
        WHEN 'millennium' THEN INTERVAL '1000 years'
        WHEN 'century' THEN INTERVAL '100 years'
        WHEN 'decade' THEN INTERVAL '10 years'
        WHEN 'year' THEN INTERVAL '1 year'
        WHEN 'quarter' THEN INTERVAL '3 months'
        WHEN 'month' THEN INTERVAL '1 month'
        WHEN 'week' THEN INTERVAL '7 days'
        WHEN 'day' THEN INTERVAL '1 day'
        WHEN 'hour' THEN INTERVAL '1 hour'
        WHEN 'minute' THEN INTERVAL '1 minute'
        WHEN 'second' THEN INTERVAL '1 second'
        WHEN 'millisecond' THEN INTERVAL '1 millisecond'
        WHEN 'microsecond' THEN INTERVAL '1 microsecond'
    END
$$;
-- Years from February 29 (the page's usage notes): DATEADD(month, 12, '2016-02-29') is 2017-02-28,
-- DATEADD(year, 1, '2016-02-29') is 2017-03-01. So a whole number of years from a leap day that lands
-- in a year without one rolls over to March 1; months keep PostgreSQL's end-of-month clamp.
CREATE OR REPLACE FUNCTION redshift_dateadd(part TEXT, amount BIGINT, source TIMESTAMP) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN part IN ('year', 'decade', 'century', 'millennium')
                     AND date_part('month', source) = 2 AND date_part('day', source) = 29
                THEN source - INTERVAL '1 day' + redshift_interval(part, amount) + INTERVAL '1 day'
                ELSE source + redshift_interval(part, amount) END
$$;
CREATE OR REPLACE FUNCTION redshift_dateadd(part TEXT, amount BIGINT, source DATE) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_dateadd(part, amount, source::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_dateadd(part TEXT, amount BIGINT, source TEXT) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT redshift_dateadd(part, amount, source::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_dateadd(part TEXT, amount BIGINT, source TIMESTAMPTZ) RETURNS TIMESTAMPTZ
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT source + redshift_interval(part, amount) $$;
CREATE OR REPLACE FUNCTION redshift_dateadd(part TEXT, amount BIGINT, source TIME) RETURNS TIME
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT source + redshift_interval(part, amount) $$;
-- A TIMETZ result in UTC, as Redshift shows it (the page: DATEADD(hour, 2, timetz '13:24:55 PST') is
-- 23:24:55+00).
CREATE OR REPLACE FUNCTION redshift_dateadd(part TEXT, amount BIGINT, source TIMETZ) RETURNS TIMETZ
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT (source + redshift_interval(part, amount)) AT TIME ZONE 'UTC' $$;

-- DATEDIFF: the number of date-part boundaries crossed between two values, as a BIGINT.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DATEDIFF_function.html
CREATE OR REPLACE FUNCTION redshift_datediff(part TEXT, a TIMESTAMP, b TIMESTAMP) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (CASE part
        WHEN 'millennium' THEN date_part('millennium', b) - date_part('millennium', a)
        WHEN 'century' THEN date_part('century', b) - date_part('century', a)
        WHEN 'decade' THEN floor(date_part('year', b) / 10) - floor(date_part('year', a) / 10)
        WHEN 'year' THEN date_part('year', b) - date_part('year', a)
        WHEN 'quarter' THEN (date_part('year', b) * 4 + date_part('quarter', b))
                          - (date_part('year', a) * 4 + date_part('quarter', a))
        WHEN 'month' THEN (date_part('year', b) * 12 + date_part('month', b))
                        - (date_part('year', a) * 12 + date_part('month', a))
        WHEN 'week' THEN (date_trunc('week', b)::date - date_trunc('week', a)::date) / 7
        WHEN 'day' THEN b::date - a::date
        WHEN 'hour' THEN (date_part('epoch', date_trunc('hour', b)) - date_part('epoch', date_trunc('hour', a))) / 3600
        WHEN 'minute' THEN (date_part('epoch', date_trunc('minute', b)) - date_part('epoch', date_trunc('minute', a))) / 60
        WHEN 'second' THEN date_part('epoch', date_trunc('second', b)) - date_part('epoch', date_trunc('second', a))
        WHEN 'millisecond' THEN floor(date_part('epoch', b) * 1000) - floor(date_part('epoch', a) * 1000)
        WHEN 'microsecond' THEN round(date_part('epoch', b) * 1000000) - round(date_part('epoch', a) * 1000000)
    END)::bigint
$$;
CREATE OR REPLACE FUNCTION redshift_datediff(part TEXT, a TEXT, b TEXT) RETURNS BIGINT
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT redshift_datediff(part, a::timestamp, b::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_datediff(part TEXT, a DATE, b DATE) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_datediff(part, a::timestamp, b::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_datediff(part TEXT, a TIMESTAMPTZ, b TIMESTAMPTZ) RETURNS BIGINT
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT redshift_datediff(part, a::timestamp, b::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_datediff(part TEXT, a TIME, b TIME) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT redshift_datediff(part, DATE '2000-01-01' + a, DATE '2000-01-01' + b)
$$;
CREATE OR REPLACE FUNCTION redshift_datediff(part TEXT, a TIMETZ, b TIMETZ) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT redshift_datediff(part, (a AT TIME ZONE 'UTC')::time, (b AT TIME ZONE 'UTC')::time)
$$;

-- DATE_TRUNC with Redshift's date-part names (the translator passes the canonical one).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_TRUNC.html
CREATE OR REPLACE FUNCTION redshift_date_trunc(part TEXT, source TIMESTAMP) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE part WHEN 'dow' THEN date_trunc('day', source) ELSE date_trunc(part, source) END
$$;
CREATE OR REPLACE FUNCTION redshift_date_trunc(part TEXT, source TEXT) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT redshift_date_trunc(part, source::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_date_trunc(part TEXT, source DATE) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_date_trunc(part, source::timestamp) $$;
CREATE OR REPLACE FUNCTION redshift_date_trunc(part TEXT, source TIMESTAMPTZ) RETURNS TIMESTAMPTZ
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT date_trunc(part, source) $$;

-- CONVERT_TIMEZONE([source,] target, timestamp): the source defaults to UTC.
-- https://docs.aws.amazon.com/redshift/latest/dg/CONVERT_TIMEZONE.html
CREATE OR REPLACE FUNCTION convert_timezone(target TEXT, source TIMESTAMP) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT (source AT TIME ZONE 'UTC') AT TIME ZONE target $$;
CREATE OR REPLACE FUNCTION convert_timezone(target TEXT, source TEXT) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT convert_timezone(target, source::timestamp) $$;
CREATE OR REPLACE FUNCTION convert_timezone(target TEXT, source TIMESTAMPTZ) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT source AT TIME ZONE target $$;
CREATE OR REPLACE FUNCTION convert_timezone(origin TEXT, target TEXT, source TIMESTAMP) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT (source AT TIME ZONE origin) AT TIME ZONE target $$;
CREATE OR REPLACE FUNCTION convert_timezone(origin TEXT, target TEXT, source TEXT) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT convert_timezone(origin, target, source::timestamp) $$;

-- LEN: characters; trailing blanks of a CHAR(n) do not count (bpchar's length), a VARCHAR's do.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_LEN.html
CREATE OR REPLACE FUNCTION len(value TEXT) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT length(value) $$;
CREATE OR REPLACE FUNCTION len(value CHARACTER) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT length(value) $$;

-- || with operands that are not text: Redshift converts them to character strings. (The
-- translator casts a string literal or parameter beside || to VARCHAR, so that PostgreSQL does
-- not take 'User' || id for INTEGER || INTEGER.)
-- https://docs.aws.amazon.com/redshift/latest/dg/r_concat_op.html
-- https://docs.aws.amazon.com/redshift/latest/dg/c_Supported_data_types.html (General compatibility)
DO $concat$
DECLARE
    left_type TEXT;
    right_type TEXT;
    fn TEXT;
    scalars TEXT[] := ARRAY['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision', 'boolean',
                            'date', 'timestamp', 'timestamptz', 'time', 'timetz'];
BEGIN
    FOREACH left_type IN ARRAY scalars LOOP
        FOREACH right_type IN ARRAY scalars LOOP
            fn := format('redshift_concat_%s_%s', replace(left_type, ' ', '_'), replace(right_type, ' ', '_'));
            EXECUTE format('CREATE OR REPLACE FUNCTION %I(a %s, b %s) RETURNS TEXT '
                           'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT a::text || b::text $f$',
                           fn, left_type, right_type);
            IF NOT EXISTS (
                SELECT FROM pg_operator
                 WHERE oprname = '||' AND oprleft = left_type::regtype AND oprright = right_type::regtype
            ) THEN
                EXECUTE format('CREATE OPERATOR public.|| (LEFTARG = %s, RIGHTARG = %s, FUNCTION = %I)',
                               left_type, right_type, fn);
            END IF;
        END LOOP;
    END LOOP;
END
$concat$;

-- Comparing a character string with a number: a DECIMAL compares as a DECIMAL, any other number
-- as a character string (General compatibility and conversion rules, c_Supported_data_types.html).
DO $compare$
DECLARE
    number_type TEXT;
    op TEXT;
    body TEXT;
    fn TEXT;
BEGIN
    FOREACH number_type IN ARRAY ARRAY['smallint', 'integer', 'bigint', 'real', 'double precision', 'numeric'] LOOP
        FOREACH op IN ARRAY ARRAY['=', '<>', '<', '<=', '>', '>='] LOOP
            fn := format('redshift_cmp_%s_%s', replace(number_type, ' ', '_'),
                         CASE op WHEN '=' THEN 'eq' WHEN '<>' THEN 'ne' WHEN '<' THEN 'lt'
                                 WHEN '<=' THEN 'le' WHEN '>' THEN 'gt' ELSE 'ge' END);
            body := CASE WHEN number_type = 'numeric' THEN format('a::numeric %s b', op)
                         ELSE format('a %s b::text', op) END;
            EXECUTE format('CREATE OR REPLACE FUNCTION %I(a TEXT, b %s) RETURNS BOOLEAN '
                           'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT %s $f$', fn, number_type, body);
            EXECUTE format('CREATE OR REPLACE FUNCTION %I(b %s, a TEXT) RETURNS BOOLEAN '
                           'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT %s $f$', fn || '_r', number_type,
                           CASE WHEN number_type = 'numeric' THEN format('b %s a::numeric', op)
                                ELSE format('b::text %s a', op) END);
            IF NOT EXISTS (SELECT FROM pg_operator WHERE oprname = op AND oprleft = 'text'::regtype
                                                      AND oprright = number_type::regtype) THEN
                EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = text, RIGHTARG = %s, FUNCTION = %I)',
                               op, number_type, fn);
            END IF;
            IF NOT EXISTS (SELECT FROM pg_operator WHERE oprname = op AND oprleft = number_type::regtype
                                                      AND oprright = 'text'::regtype) THEN
                EXECUTE format('CREATE OPERATOR public.%s (LEFTARG = %s, RIGHTARG = text, FUNCTION = %I)',
                               op, number_type, fn || '_r');
            END IF;
        END LOOP;
    END LOOP;
END
$compare$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC;
