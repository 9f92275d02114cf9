-- songplays in the window with a missing key column.
SELECT COUNT(*)
FROM songplays
WHERE start_time >= %(window_start)s AND start_time < %(window_end)s
  AND (songplay_id IS NULL OR user_id IS NULL OR start_time IS NULL)
