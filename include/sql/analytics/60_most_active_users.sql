-- title: Most active users
-- description: The ten users with the most plays, with their current level.
-- chart: barh
-- label: name, user_id
-- value: plays
SELECT u.user_id                         AS user_id,
       u.first_name || ' ' || u.last_name AS name,
       u.level                           AS level,
       COUNT(*)                          AS plays,
       COUNT(DISTINCT p.session_id)      AS sessions
FROM songplays p
JOIN users u ON u.user_id = p.user_id
GROUP BY u.user_id, u.first_name, u.last_name, u.level
ORDER BY plays DESC, u.user_id
LIMIT 10
