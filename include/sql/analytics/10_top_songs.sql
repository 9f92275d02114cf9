-- title: Most played songs
-- description: The ten songs played most often (plays matched to the song catalogue).
-- chart: barh
-- label: song, artist
-- value: plays
SELECT s.title              AS song,
       a.name               AS artist,
       COUNT(*)             AS plays,
       COUNT(DISTINCT p.user_id) AS listeners
FROM songplays p
JOIN songs s ON s.song_id = p.song_id
LEFT JOIN artists a ON a.artist_id = s.artist_id
GROUP BY s.song_id, s.title, a.name
ORDER BY plays DESC, s.title, a.name, s.song_id
LIMIT 10
