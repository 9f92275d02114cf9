-- How many of the rows a stage task staged lie in the run's window [window_start, window_end):
-- StageToRedshiftOperator(window_count_sql=..., time_column=...) logs it beside the rows it staged
-- ("8056 rows of the day file ..., 58 in the window ..."). The operator fills {table} and
-- {time_column} with its table and time column, validated and double-quoted.
SELECT COUNT(*)
FROM {table}
WHERE {time_column} >= %(window_start)s
  AND {time_column} < %(window_end)s
