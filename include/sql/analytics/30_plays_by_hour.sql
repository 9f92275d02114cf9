-- title: Plays by hour of day
-- description: All plays by the hour (UTC) in which they started; hours without plays are left out.
-- chart: bar
-- label: hour
-- value: plays
SELECT t.hour   AS hour,
       COUNT(*) AS plays
FROM songplays p
JOIN time t ON t.start_time = p.start_time
GROUP BY t.hour
ORDER BY t.hour
