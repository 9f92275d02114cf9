-- users whose level is not free or paid.
SELECT COUNT(*)
FROM users
WHERE level IS NULL OR level NOT IN ('free', 'paid')
