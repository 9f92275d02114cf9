-- songplays in the window minus the distinct NextSong events with a user id in
-- staging for the window: 0 when nothing was lost or duplicated.
SELECT (SELECT COUNT(*)
        FROM songplays
        WHERE start_time >= %(window_start)s AND start_time < %(window_end)s)
     - (SELECT COUNT(*)
        FROM (SELECT DISTINCT userid, sessionid, iteminsession
              FROM staging_events
              WHERE page = 'NextSong' AND userid IS NOT NULL
                AND ts >= %(window_start)s AND ts < %(window_end)s) AS events)
