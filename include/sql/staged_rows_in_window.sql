-- The rows stage_events staged into the run's staging_events, and how many of them lie in the run's
-- window [window_start, window_end): LoadFactOperator(source_rows_sql=...) logs both
-- ("8056 source rows staged, 58 in the window ..."). A day file holds the whole UTC day.
SELECT COUNT(*),
       COUNT(CASE WHEN ts >= %(window_start)s AND ts < %(window_end)s THEN 1 END)
FROM {{ run_scoped('staging_events', run_id) }}
