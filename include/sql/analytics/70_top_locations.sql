-- title: Top locations
-- description: The ten locations with the most plays, by the location users gave.
-- chart: barh
-- label: location
-- value: plays
SELECT p.location                AS location,
       COUNT(*)                  AS plays,
       COUNT(DISTINCT p.user_id) AS users
FROM songplays p
WHERE p.location IS NOT NULL
GROUP BY p.location
ORDER BY plays DESC, p.location
LIMIT 10
