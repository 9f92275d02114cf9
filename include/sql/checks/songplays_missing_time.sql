-- Distinct songplays start_times in the window without a row in time.
SELECT COUNT(DISTINCT p.start_time)
FROM songplays p
LEFT JOIN time t ON t.start_time = p.start_time
WHERE p.start_time >= %(window_start)s AND p.start_time < %(window_end)s
  AND t.start_time IS NULL
