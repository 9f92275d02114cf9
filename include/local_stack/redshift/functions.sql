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

-- ADD_MONTHS: a TIMESTAMP; from the last day of a month, the last day of the result month; a day
-- that the result month lacks becomes its last day.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_ADD_MONTHS.html
CREATE OR REPLACE FUNCTION add_months(source TIMESTAMP, months BIGINT) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN (source + INTERVAL '1 day')::date = date_trunc('month', source + INTERVAL '1 day')::date
                THEN date_trunc('month', source) + (months + 1) * INTERVAL '1 month' - INTERVAL '1 day'
                     + (source - date_trunc('day', source))
                ELSE source + months * INTERVAL '1 month' END
$$;
CREATE OR REPLACE FUNCTION add_months(source DATE, months BIGINT) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT add_months(source::timestamp, months) $$;
CREATE OR REPLACE FUNCTION add_months(source TEXT, months BIGINT) RETURNS TIMESTAMP
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT add_months(source::timestamp, months) $$;

-- MONTHS_BETWEEN: FLOAT8; the whole part from the years and months, the fraction from the days and
-- times over a 31-day month; a whole number for the same day of the month or two last days.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_MONTHS_BETWEEN_function.html
CREATE OR REPLACE FUNCTION months_between(a TIMESTAMP, b TIMESTAMP) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT (date_part('year', a) * 12 + date_part('month', a)) - (date_part('year', b) * 12 + date_part('month', b))
         + CASE WHEN date_part('day', a) = date_part('day', b)
                  OR (date_part('month', a + INTERVAL '1 day') <> date_part('month', a)
                      AND date_part('month', b + INTERVAL '1 day') <> date_part('month', b))
                THEN 0
                ELSE (date_part('day', a) - date_part('day', b)
                      + date_part('epoch', (a - date_trunc('day', a)) - (b - date_trunc('day', b))) / 86400) / 31
           END
$$;
CREATE OR REPLACE FUNCTION months_between(a DATE, b DATE) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT months_between(a::timestamp, b::timestamp) $$;
CREATE OR REPLACE FUNCTION months_between(a TEXT, b TEXT) RETURNS DOUBLE PRECISION
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT months_between(a::timestamp, b::timestamp) $$;

-- NEXT_DAY: the first date after the given one that falls on the named day (the page's names and
-- abbreviations, in any case).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_NEXT_DAY.html
CREATE OR REPLACE FUNCTION redshift_weekday(day TEXT) RETURNS INTEGER
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    number INTEGER := CASE lower(btrim(day))
        WHEN 'su' THEN 0 WHEN 'sun' THEN 0 WHEN 'sunday' THEN 0
        WHEN 'm' THEN 1 WHEN 'mo' THEN 1 WHEN 'mon' THEN 1 WHEN 'monday' THEN 1
        WHEN 'tu' THEN 2 WHEN 'tue' THEN 2 WHEN 'tues' THEN 2 WHEN 'tuesday' THEN 2
        WHEN 'w' THEN 3 WHEN 'we' THEN 3 WHEN 'wed' THEN 3 WHEN 'wednesday' THEN 3
        WHEN 'th' THEN 4 WHEN 'thu' THEN 4 WHEN 'thurs' THEN 4 WHEN 'thursday' THEN 4
        WHEN 'f' THEN 5 WHEN 'fr' THEN 5 WHEN 'fri' THEN 5 WHEN 'friday' THEN 5
        WHEN 'sa' THEN 6 WHEN 'sat' THEN 6 WHEN 'saturday' THEN 6
    END;
BEGIN
    IF number IS NULL AND day IS NOT NULL THEN
        RAISE EXCEPTION 'Invalid day name "%" for NEXT_DAY', day USING ERRCODE = '22023';
    END IF;
    RETURN number;
END
$$;
CREATE OR REPLACE FUNCTION next_day(source DATE, day TEXT) RETURNS DATE
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT source + ((redshift_weekday(day) - date_part('dow', source)::integer + 6) % 7) + 1
$$;
CREATE OR REPLACE FUNCTION next_day(source TIMESTAMP, day TEXT) RETURNS DATE
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT next_day(source::date, day) $$;
CREATE OR REPLACE FUNCTION next_day(source TEXT, day TEXT) RETURNS DATE
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT next_day(source::timestamp::date, day) $$;

-- TRUNC of a timestamp: its DATE.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNC_date.html
CREATE OR REPLACE FUNCTION trunc(source TIMESTAMP) RETURNS DATE
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT source::date $$;
CREATE OR REPLACE FUNCTION trunc(source TIMESTAMPTZ) RETURNS DATE
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT source::date $$;
CREATE OR REPLACE FUNCTION trunc(source DATE) RETURNS DATE
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT source $$;

-- DATE_PART_YEAR: the year of a date, an INTEGER.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_DATE_PART_YEAR.html
CREATE OR REPLACE FUNCTION date_part_year(source DATE) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_part('year', source)::integer $$;
CREATE OR REPLACE FUNCTION date_part_year(source TIMESTAMP) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT date_part('year', source)::integer $$;
CREATE OR REPLACE FUNCTION date_part_year(source TEXT) RETURNS INTEGER
LANGUAGE sql STABLE PARALLEL SAFE AS $$ SELECT date_part('year', source::date)::integer $$;

-- TO_TIMESTAMP(string, format [, is_strict]): unless is_strict, a field past its range rolls over
-- (the page: '2011-12-18 24:38:15' is 2011-12-19 00:38:15+00). The translator calls this function
-- for the two- and three-argument forms. PostgreSQL parses; only when it reports a field out of
-- range are the numeric fields of a format of YYYY, MM, DD, HH24, MI and SS added up instead.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_TO_TIMESTAMP.html
CREATE OR REPLACE FUNCTION redshift_to_timestamp(source TEXT, format TEXT, is_strict BOOLEAN DEFAULT false)
RETURNS TIMESTAMPTZ LANGUAGE plpgsql STABLE PARALLEL SAFE AS $$
DECLARE
    pattern TEXT := '^';
    rest TEXT := upper(format);
    fields TEXT[] := '{}';
    token TEXT;
    parts TEXT[];
    amounts INTEGER[] := ARRAY[1, 1, 1, 0, 0, 0];  -- year, month, day, hour, minute, second
BEGIN
    RETURN pg_catalog.to_timestamp(source, format);
EXCEPTION WHEN datetime_field_overflow THEN
    IF is_strict THEN
        RAISE;
    END IF;
    WHILE rest <> '' LOOP
        token := substring(rest FROM '^(YYYY|HH24|MM|DD|MI|SS)');
        IF token IS NOT NULL THEN
            pattern := pattern || CASE token WHEN 'YYYY' THEN '(\d{4})' ELSE '(\d{1,2})' END;
            fields := fields || token;
            rest := substr(rest, length(token) + 1);
        ELSIF substr(rest, 1, 1) ~ '[A-Z0-9]' THEN
            RAISE;  -- a field this fallback does not read: PostgreSQL's error stands
        ELSE
            pattern := pattern || regexp_replace(substr(rest, 1, 1), '([^\w\s])', '\\\1');
            rest := substr(rest, 2);
        END IF;
    END LOOP;
    parts := regexp_match(source, pattern || '$');
    IF parts IS NULL THEN
        RAISE;
    END IF;
    FOR k IN 1 .. coalesce(array_length(fields, 1), 0) LOOP
        amounts[array_position(ARRAY['YYYY', 'MM', 'DD', 'HH24', 'MI', 'SS'], fields[k])] := parts[k]::integer;
    END LOOP;
    RETURN (make_date(amounts[1], 1, 1) + (amounts[2] - 1) * INTERVAL '1 month' + (amounts[3] - 1) * INTERVAL '1 day'
            + make_interval(hours => amounts[4], mins => amounts[5], secs => amounts[6]))::timestamptz;
END
$$;
CREATE OR REPLACE FUNCTION redshift_to_timestamp(source TIMESTAMP, format TEXT, is_strict BOOLEAN DEFAULT false)
RETURNS TIMESTAMPTZ LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT redshift_to_timestamp(to_char(source, format), format, is_strict)
$$;

-- CHARINDEX(substring, string): STRPOS with its arguments the other way round.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_CHARINDEX.html
CREATE OR REPLACE FUNCTION charindex(needle TEXT, haystack TEXT) RETURNS INTEGER
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT strpos(haystack, needle) $$;

-- REPEAT and REVERSE of a number (or a date, for REVERSE): Redshift treats it as a string.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_REPEAT.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_REVERSE.html
DO $strings$
DECLARE
    source_type TEXT;
BEGIN
    FOREACH source_type IN ARRAY ARRAY['smallint', 'integer', 'bigint', 'numeric'] LOOP
        EXECUTE format('CREATE OR REPLACE FUNCTION repeat(value %s, times INTEGER) RETURNS VARCHAR '
                       'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT repeat(value::text, times) $f$',
                       source_type);
    END LOOP;
    FOREACH source_type IN ARRAY ARRAY['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision',
                                       'date', 'timestamp'] LOOP
        EXECUTE format('CREATE OR REPLACE FUNCTION reverse(value %s) RETURNS VARCHAR '
                       'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT reverse(value::text) $f$',
                       source_type);
    END LOOP;
END
$strings$;

-- AVG: the translator calls redshift_avg, which returns a BIGINT for an integer argument (the
-- average truncated, as the pages' examples show: 130 / 7 is 18) and PostgreSQL's AVG otherwise.
-- The transition functions are PostgreSQL's own, copied from pg_aggregate.
-- https://docs.aws.amazon.com/redshift/latest/dg/r_AVG.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_WF_AVG.html
CREATE OR REPLACE FUNCTION redshift_avg_whole(state BIGINT[]) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state[1] = 0 THEN NULL ELSE trunc(state[2]::numeric / state[1])::bigint END
$$;
CREATE OR REPLACE FUNCTION redshift_avg_accum(state NUMERIC[], value BIGINT) RETURNS NUMERIC[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL THEN state ELSE ARRAY[state[1] + 1, state[2] + value] END
$$;
CREATE OR REPLACE FUNCTION redshift_avg_retract(state NUMERIC[], value BIGINT) RETURNS NUMERIC[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN value IS NULL THEN state ELSE ARRAY[state[1] - 1, state[2] - value] END
$$;
CREATE OR REPLACE FUNCTION redshift_avg_whole(state NUMERIC[]) RETURNS BIGINT
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN state[1] = 0 THEN NULL ELSE trunc(state[2] / state[1])::bigint END
$$;
DO $avg$
DECLARE
    agg RECORD;
    spec TEXT;
BEGIN
    FOR agg IN
        SELECT p.proargtypes[0]::regtype AS argument, a.*
          FROM pg_aggregate a JOIN pg_proc p ON p.oid = a.aggfnoid
         WHERE p.proname = 'avg' AND p.pronamespace = 'pg_catalog'::regnamespace
           AND p.proargtypes[0] IN ('smallint'::regtype, 'integer'::regtype, 'real'::regtype,
                                    'double precision'::regtype, 'numeric'::regtype)
    LOOP
        IF EXISTS (SELECT FROM pg_proc WHERE proname = 'redshift_avg' AND pronamespace = 'public'::regnamespace
                                         AND proargtypes[0] = agg.argument::oid) THEN
            CONTINUE;
        END IF;
        spec := format('SFUNC = %s, STYPE = %s', agg.aggtransfn::regproc, agg.aggtranstype::regtype);
        spec := spec || format(', FINALFUNC = %s',
                               CASE WHEN agg.argument IN ('smallint'::regtype, 'integer'::regtype)
                                    THEN 'redshift_avg_whole' ELSE agg.aggfinalfn::regproc::text END);
        IF agg.agginitval IS NOT NULL THEN
            spec := spec || format(', INITCOND = %L', agg.agginitval);
        END IF;
        IF agg.aggcombinefn <> 0 THEN
            spec := spec || format(', COMBINEFUNC = %s', agg.aggcombinefn::regproc);
        END IF;
        IF agg.aggserialfn <> 0 THEN
            spec := spec || format(', SERIALFUNC = %s, DESERIALFUNC = %s', agg.aggserialfn::regproc,
                                   agg.aggdeserialfn::regproc);
        END IF;
        IF agg.aggmtransfn <> 0 THEN
            spec := spec || format(', MSFUNC = %s, MINVFUNC = %s, MSTYPE = %s, MFINALFUNC = %s',
                                   agg.aggmtransfn::regproc, agg.aggminvtransfn::regproc,
                                   agg.aggmtranstype::regtype,
                                   CASE WHEN agg.argument IN ('smallint'::regtype, 'integer'::regtype)
                                        THEN 'redshift_avg_whole' ELSE agg.aggmfinalfn::regproc::text END);
            IF agg.aggminitval IS NOT NULL THEN
                spec := spec || format(', MINITCOND = %L', agg.aggminitval);
            END IF;
        END IF;
        EXECUTE format('CREATE AGGREGATE public.redshift_avg(%s) (%s, PARALLEL = SAFE)', agg.argument, spec);
    END LOOP;
    IF NOT EXISTS (SELECT FROM pg_proc WHERE proname = 'redshift_avg' AND pronamespace = 'public'::regnamespace
                                         AND proargtypes[0] = 'bigint'::regtype::oid) THEN
        CREATE AGGREGATE public.redshift_avg(BIGINT) (
            SFUNC = redshift_avg_accum, STYPE = NUMERIC[], INITCOND = '{0,0}', FINALFUNC = redshift_avg_whole,
            MSFUNC = redshift_avg_accum, MINVFUNC = redshift_avg_retract, MSTYPE = NUMERIC[], MINITCOND = '{0,0}',
            MFINALFUNC = redshift_avg_whole, PARALLEL = SAFE
        );
    END IF;
END
$avg$;

-- MEDIAN (an aggregate and a window function), and PERCENTILE_CONT/PERCENTILE_DISC ... WITHIN GROUP
-- (ORDER BY x) OVER (...), which PostgreSQL's ordered-set aggregates cannot do as window functions:
-- the translator calls redshift_percentile_cont/_disc(fraction, x) OVER (... ORDER BY x ROWS BETWEEN
-- UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING), so the values arrive in the sort specification's
-- order. NULLs are ignored. The return types: DECIMAL for integers and decimals, DOUBLE PRECISION
-- for floating point (PERCENTILE_DISC: the type of x).
-- https://docs.aws.amazon.com/redshift/latest/dg/r_WF_MEDIAN.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_WF_PERCENTILE_CONT.html
-- https://docs.aws.amazon.com/redshift/latest/dg/r_WF_PERCENTILE_DISC.html
CREATE OR REPLACE FUNCTION redshift_cont(sorted NUMERIC[], fraction NUMERIC) RETURNS NUMERIC
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sorted[floor(rn)::integer] + (rn - floor(rn)) * (sorted[ceil(rn)::integer] - sorted[floor(rn)::integer])
      FROM (SELECT 1 + fraction * (cardinality(sorted) - 1) AS rn) r
     WHERE cardinality(sorted) > 0
$$;
CREATE OR REPLACE FUNCTION redshift_cont(sorted DOUBLE PRECISION[], fraction NUMERIC) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT sorted[floor(rn)::integer]
           + (rn - floor(rn))::double precision * (sorted[ceil(rn)::integer] - sorted[floor(rn)::integer])
      FROM (SELECT 1 + fraction * (cardinality(sorted) - 1) AS rn) r
     WHERE cardinality(sorted) > 0
$$;
CREATE OR REPLACE FUNCTION redshift_median_final(state NUMERIC[]) RETURNS NUMERIC
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT redshift_cont(ARRAY(SELECT v FROM unnest(state) v WHERE v IS NOT NULL ORDER BY v), 0.5)
$$;
CREATE OR REPLACE FUNCTION redshift_median_final(state DOUBLE PRECISION[]) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT redshift_cont(ARRAY(SELECT v FROM unnest(state) v WHERE v IS NOT NULL ORDER BY v), 0.5)
$$;
-- State of the window percentiles: the fraction, then the values in order (redshift_percentile_accum).
CREATE OR REPLACE FUNCTION redshift_percentile_cont_final(state NUMERIC[]) RETURNS NUMERIC
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_cont(state[2:], state[1]) $$;
CREATE OR REPLACE FUNCTION redshift_percentile_cont_final(state DOUBLE PRECISION[]) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT redshift_cont(state[2:], state[1]::numeric) $$;
-- PERCENTILE_DISC: the first value whose cumulative distribution reaches the fraction.
CREATE OR REPLACE FUNCTION redshift_percentile_disc_final(state NUMERIC[]) RETURNS NUMERIC
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT state[1 + greatest(1, ceil(state[1] * (cardinality(state) - 1))::integer)]
     WHERE cardinality(state) > 1
$$;
CREATE OR REPLACE FUNCTION redshift_percentile_disc_final(state DOUBLE PRECISION[]) RETURNS DOUBLE PRECISION
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT state[1 + greatest(1, ceil(state[1] * (cardinality(state) - 1))::integer)]
     WHERE cardinality(state) > 1
$$;
DO $percentiles$
DECLARE
    value_type TEXT;
    state_type TEXT;
BEGIN
    FOREACH value_type IN ARRAY ARRAY['smallint', 'integer', 'bigint', 'numeric', 'real', 'double precision'] LOOP
        state_type := CASE WHEN value_type IN ('real', 'double precision') THEN 'double precision' ELSE 'numeric' END;
        EXECUTE format('CREATE OR REPLACE FUNCTION redshift_median_accum(state %s[], value %s) RETURNS %s[] '
                       'LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT CASE WHEN value IS NULL THEN state '
                       'ELSE state || value::%s END $f$', state_type, value_type, state_type, state_type);
        IF NOT EXISTS (SELECT FROM pg_proc WHERE proname = 'median' AND pronamespace = 'public'::regnamespace
                                             AND proargtypes[0] = value_type::regtype::oid) THEN
            EXECUTE format('CREATE AGGREGATE public.median(%s) (SFUNC = redshift_median_accum, STYPE = %s[], '
                           'INITCOND = ''{}'', FINALFUNC = redshift_median_final, PARALLEL = SAFE)',
                           value_type, state_type);
        END IF;
        EXECUTE format('CREATE OR REPLACE FUNCTION redshift_percentile_accum(state %s[], fraction NUMERIC, '
                       'value %s) RETURNS %s[] LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $f$ SELECT CASE WHEN '
                       'value IS NULL THEN coalesce(state, ARRAY[fraction::%s]) ELSE coalesce(state, '
                       'ARRAY[fraction::%s]) || value::%s END $f$',
                       state_type, value_type, state_type, state_type, state_type, state_type);
        IF NOT EXISTS (SELECT FROM pg_proc WHERE proname = 'redshift_percentile_cont'
                                             AND pronamespace = 'public'::regnamespace
                                             AND proargtypes[1] = value_type::regtype::oid) THEN
            EXECUTE format('CREATE AGGREGATE public.redshift_percentile_cont(NUMERIC, %s) ('
                           'SFUNC = redshift_percentile_accum, STYPE = %s[], '
                           'FINALFUNC = redshift_percentile_cont_final, PARALLEL = SAFE)', value_type, state_type);
            EXECUTE format('CREATE AGGREGATE public.redshift_percentile_disc(NUMERIC, %s) ('
                           'SFUNC = redshift_percentile_accum, STYPE = %s[], '
                           'FINALFUNC = redshift_percentile_disc_final, PARALLEL = SAFE)', value_type, state_type);
        END IF;
    END LOOP;
END
$percentiles$;

GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO PUBLIC;
