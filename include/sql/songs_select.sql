-- One row per song_id in staging. If a song_id appears in several files, the
-- row is chosen by a fixed order so that the result does not depend on load order.
WITH ranked AS (
    SELECT s.song_id, s.title, s.artist_id, s.year, s.duration,
           ROW_NUMBER() OVER (
               PARTITION BY s.song_id ORDER BY s.title, s.artist_id, s.year, s.duration
           ) AS pick
    FROM staging_songs s
    WHERE s.song_id IS NOT NULL
)
SELECT song_id, title, artist_id, year, duration
FROM ranked
WHERE pick = 1
