-- title: Free versus paid plays
-- description: All plays by the level the user had when playing; a user who changed level counts in both.
-- chart: pie
-- label: level
-- value: plays
SELECT p.level                                        AS level,
       COUNT(*)                                       AS plays,
       COUNT(DISTINCT p.user_id)                      AS users,
       ROUND(100.0 * COUNT(*) / SUM(COUNT(*)) OVER (), 1) AS share_of_plays
FROM songplays p
GROUP BY p.level
ORDER BY p.level
