-- songplays in the window with a song_id missing from songs or an artist_id missing from artists.
SELECT COUNT(*)
FROM songplays p
LEFT JOIN songs s ON s.song_id = p.song_id
LEFT JOIN artists a ON a.artist_id = p.artist_id
WHERE p.start_time >= %(window_start)s AND p.start_time < %(window_end)s
  AND ((p.song_id IS NOT NULL AND s.song_id IS NULL)
       OR (p.artist_id IS NOT NULL AND a.artist_id IS NULL))
