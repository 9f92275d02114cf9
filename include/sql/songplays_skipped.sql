-- NextSong events in the window that the fact load skips because they have no user id.
SELECT COUNT(*)
FROM {{ run_scoped('staging_events', run_id) }}
WHERE page = 'NextSong'
  AND userid IS NULL
  AND ts >= %(window_start)s
  AND ts < %(window_end)s
