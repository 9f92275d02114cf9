-- title: Plays by weekday
-- description: All plays by the weekday (UTC) on which they started; weekday 0 is Sunday.
-- chart: bar
-- label: day
-- value: plays
SELECT t.weekday AS weekday,
       CASE t.weekday
           WHEN 0 THEN 'Sunday'
           WHEN 1 THEN 'Monday'
           WHEN 2 THEN 'Tuesday'
           WHEN 3 THEN 'Wednesday'
           WHEN 4 THEN 'Thursday'
           WHEN 5 THEN 'Friday'
           WHEN 6 THEN 'Saturday'
       END       AS day,
       COUNT(*)  AS plays
FROM songplays p
JOIN time t ON t.start_time = p.start_time
GROUP BY t.weekday
ORDER BY t.weekday
