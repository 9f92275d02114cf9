-- title: Most played artists
-- description: The ten artists played most often (plays matched to the song catalogue).
-- chart: barh
-- label: artist
-- value: plays
SELECT a.name                    AS artist,
       COUNT(*)                  AS plays,
       COUNT(DISTINCT p.song_id) AS songs,
       COUNT(DISTINCT p.user_id) AS listeners
FROM songplays p
JOIN artists a ON a.artist_id = p.artist_id
GROUP BY a.artist_id, a.name
ORDER BY plays DESC, a.name, a.artist_id
LIMIT 10
