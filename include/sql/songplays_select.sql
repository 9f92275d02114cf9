-- Fact rows of one window: every NextSong event with a user id whose ts lies in
-- [window_start, window_end). songplay_id is derived from the event, so reruns
-- reproduce it. A song matches on exact title, artist name and duration; when
-- several catalogue songs match, the smallest song_id wins.
WITH events AS (
    SELECT e.*,
           ROW_NUMBER() OVER (
               PARTITION BY e.userid, e.sessionid, e.iteminsession ORDER BY e.ts
           ) AS duplicate_rank
    FROM staging_events e
    WHERE e.page = 'NextSong'
      AND e.userid IS NOT NULL
      AND e.ts >= %(window_start)s
      AND e.ts < %(window_end)s
),
catalogue AS (
    SELECT s.song_id, s.artist_id, s.title, s.artist_name, s.duration,
           ROW_NUMBER() OVER (
               PARTITION BY s.title, s.artist_name, s.duration ORDER BY s.song_id
           ) AS match_rank
    FROM staging_songs s
    WHERE s.song_id IS NOT NULL
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
