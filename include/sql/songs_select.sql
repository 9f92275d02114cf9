-- One row per song_id staged by this run (new or changed song files). If a song_id
-- appears in several files, a fixed order chooses the row, whatever the load order.
WITH ranked AS (
    SELECT s.song_id, s.title, s.artist_id, s.year, s.duration,
           ROW_NUMBER() OVER (
               PARTITION BY s.song_id ORDER BY s.title, s.artist_id, s.year, s.duration
           ) AS pick
    FROM {{ run_scoped('staging_songs', run_id) }} s
    WHERE s.song_id IS NOT NULL
)
SELECT song_id, title, artist_id, year, duration
FROM ranked
WHERE pick = 1
