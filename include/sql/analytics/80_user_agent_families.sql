-- title: User-agent families
-- description: All plays by browser family, read from the user agent (Chrome is checked before Safari, whose token Chrome's agent also carries).
-- chart: pie
-- label: family
-- value: plays
WITH agents AS (
    SELECT p.user_id,
           CASE
               WHEN p.user_agent IS NULL THEN 'Unknown'
               WHEN p.user_agent LIKE '%Edge/%' OR p.user_agent LIKE '%Edg/%' THEN 'Edge'
               WHEN p.user_agent LIKE '%Trident/%' OR p.user_agent LIKE '%MSIE %' THEN 'Internet Explorer'
               WHEN p.user_agent LIKE '%Firefox/%' THEN 'Firefox'
               WHEN p.user_agent LIKE '%Chrome/%' OR p.user_agent LIKE '%CriOS/%' THEN 'Chrome'
               WHEN p.user_agent LIKE '%iPhone%' OR p.user_agent LIKE '%iPad%' THEN 'Mobile Safari'
               WHEN p.user_agent LIKE '%Safari/%' THEN 'Safari'
               ELSE 'Other'
           END AS family
    FROM songplays p
)
SELECT family,
       COUNT(*)                AS plays,
       COUNT(DISTINCT user_id) AS users
FROM agents
GROUP BY family
ORDER BY plays DESC, family
