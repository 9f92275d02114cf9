-- One row per artist_id, with the attributes of the artist's song that has the
-- smallest song_id, so that the result does not depend on load order.
WITH ranked AS (
    SELECT s.artist_id, s.artist_name, s.artist_location, s.artist_latitude, s.artist_longitude,
           ROW_NUMBER() OVER (PARTITION BY s.artist_id ORDER BY s.song_id) AS pick
    FROM staging_songs s
    WHERE s.artist_id IS NOT NULL
)
SELECT artist_id,
       artist_name      AS name,
       artist_location  AS location,
       artist_latitude  AS latitude,
       artist_longitude AS longitude
FROM ranked
WHERE pick = 1
