-- One row per distinct start_time of the window's songplays (this run's shadow copy of
-- songplays, which is published together with time). weekday: 0 = Sunday.
SELECT DISTINCT
       p.start_time,
       CAST(EXTRACT(HOUR FROM p.start_time) AS INTEGER)  AS hour,
       CAST(EXTRACT(DAY FROM p.start_time) AS INTEGER)   AS day,
       CAST(EXTRACT(WEEK FROM p.start_time) AS INTEGER)  AS week,
       CAST(EXTRACT(MONTH FROM p.start_time) AS INTEGER) AS month,
       CAST(EXTRACT(YEAR FROM p.start_time) AS INTEGER)  AS year,
       CAST(EXTRACT(DOW FROM p.start_time) AS INTEGER)   AS weekday
FROM {{ run_scoped('songplays', run_id) }} p
WHERE p.start_time >= %(window_start)s
  AND p.start_time < %(window_end)s
