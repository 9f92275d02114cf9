-- Distinct NextSong events with a user id in staging whose ts lies in the window:
-- the number of songplays the window should hold.
SELECT COUNT(*)
FROM (SELECT DISTINCT userid, sessionid, iteminsession
      FROM {{ run_scoped('staging_events', run_id) }}
      WHERE page = 'NextSong'
        AND userid IS NOT NULL
        AND ts >= %(window_start)s
        AND ts < %(window_end)s) AS events
