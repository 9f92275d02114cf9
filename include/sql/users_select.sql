-- One row per user with a NextSong event in the window, from that user's latest
-- event by ts (ties broken by itemInSession). A user who already has a later
-- songplay, loaded by a run for a later window, is left alone: the result does
-- not depend on the order in which runs complete.
WITH latest AS (
    SELECT e.userid, e.firstname, e.lastname, e.gender, e.level,
           ROW_NUMBER() OVER (
               PARTITION BY e.userid ORDER BY e.ts DESC, e.iteminsession DESC
           ) AS recency
    FROM {{ run_scoped('staging_events', run_id) }} e
    WHERE e.page = 'NextSong'
      AND e.userid IS NOT NULL
      AND e.ts >= %(window_start)s
      AND e.ts < %(window_end)s
)
SELECT l.userid    AS user_id,
       l.firstname AS first_name,
       l.lastname  AS last_name,
       l.gender    AS gender,
       l.level     AS level
FROM latest l
WHERE l.recency = 1
  AND NOT EXISTS (
      SELECT 1
      FROM songplays p
      WHERE p.user_id = l.userid
        AND p.start_time >= %(window_end)s
  )
