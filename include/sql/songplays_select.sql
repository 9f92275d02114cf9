-- Fact rows of one window: every NextSong event with a user id whose ts lies in
-- [window_start, window_end). songplay_id is derived from the event, so reruns
-- reproduce it. A song matches on exact title, artist name and duration, through
-- the songs and artists dimensions plus the songs this run staged (which reach the
-- dimensions after this step); when several songs match, the smallest song_id wins.
WITH events AS (
    SELECT e.*,
           ROW_NUMBER() OVER (
               PARTITION BY e.userid, e.sessionid, e.iteminsession ORDER BY e.ts
           ) AS duplicate_rank
    FROM {{ run_scoped('staging_events', run_id) }} e
    WHERE e.page = 'NextSong'
      AND e.userid IS NOT NULL
      AND e.ts >= %(window_start)s
      AND e.ts < %(window_end)s
),
played AS (
    SELECT DISTINCT song FROM events WHERE song IS NOT NULL
),
candidates AS (
    SELECT s.song_id, s.artist_id, s.title, a.name AS artist_name, s.duration
    FROM songs s
    JOIN artists a ON a.artist_id = s.artist_id
    WHERE s.title IN (SELECT song FROM played)
    UNION ALL
    SELECT n.song_id, n.artist_id, n.title, n.artist_name, n.duration
    FROM {{ run_scoped('staging_songs', run_id) }} n
    WHERE n.song_id IS NOT NULL AND n.title IN (SELECT song FROM played)
),
catalogue AS (
    SELECT c.song_id, c.artist_id, c.title, c.artist_name, c.duration,
           ROW_NUMBER() OVER (
               PARTITION BY c.title, c.artist_name, c.duration ORDER BY c.song_id
           ) AS match_rank
    FROM candidates c
)
SELECT MD5(CAST(e.userid AS VARCHAR) || '-' || COALESCE(CAST(e.sessionid AS VARCHAR), '') || '-'
           || COALESCE(CAST(e.iteminsession AS VARCHAR), '')) AS songplay_id,
       e.ts          AS start_time,
       e.userid      AS user_id,
       e.level       AS level,
       c.song_id     AS song_id,
       c.artist_id   AS artist_id,
       e.sessionid   AS session_id,
       e.location    AS location,
       e.useragent   AS user_agent
FROM events e
LEFT JOIN catalogue c
       ON c.title = e.song
      AND c.artist_name = e.artist
      AND c.duration = e.length
      AND c.match_rank = 1
WHERE e.duplicate_rank = 1
