-- user_ids that occur more than once in users.
SELECT COUNT(*)
FROM (SELECT user_id FROM users GROUP BY user_id HAVING COUNT(*) > 1) AS duplicates
