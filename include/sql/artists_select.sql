-- One row per artist_id with songs staged by this run, with the attributes of the
-- artist's song that has the smallest song_id, so that the result does not depend on
-- load order. An artist whose smallest song_id is an earlier-loaded song keeps its row.
WITH ranked AS (
    SELECT s.song_id, s.artist_id, s.artist_name, s.artist_location, s.artist_latitude, s.artist_longitude,
           ROW_NUMBER() OVER (PARTITION BY s.artist_id ORDER BY s.song_id) AS pick
    FROM {{ run_scoped('staging_songs', run_id) }} s
    WHERE s.artist_id IS NOT NULL AND s.song_id IS NOT NULL
),
loaded AS (
    SELECT d.artist_id, MIN(d.song_id) AS song_id
    FROM songs d
    WHERE d.artist_id IN (SELECT artist_id FROM ranked)
      AND d.song_id NOT IN (SELECT song_id FROM ranked)
    GROUP BY d.artist_id
)
SELECT r.artist_id,
       r.artist_name      AS name,
       r.artist_location  AS location,
       r.artist_latitude  AS latitude,
       r.artist_longitude AS longitude
FROM ranked r
LEFT JOIN loaded l ON l.artist_id = r.artist_id
WHERE r.pick = 1
  AND (l.song_id IS NULL OR r.song_id < l.song_id)
