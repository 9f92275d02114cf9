-- Distinct start_times of the window's songplays (the run's shadow copy, which publishing puts in
-- songplays) that would have no row in time after publishing: neither in time nor in its shadow.
-- time is read in the window's range only (its sort key): a start_time in the window has its row there.
SELECT COUNT(DISTINCT p.start_time)
FROM {{ run_scoped('songplays', run_id) }} p
WHERE p.start_time >= %(window_start)s AND p.start_time < %(window_end)s
  AND NOT EXISTS (
      SELECT 1 FROM time t
      WHERE t.start_time >= %(window_start)s AND t.start_time < %(window_end)s AND t.start_time = p.start_time
  )
  AND NOT EXISTS (SELECT 1 FROM {{ run_scoped('time', run_id) }} t WHERE t.start_time = p.start_time)
