-- songplays in the window whose user is missing from users.
SELECT COUNT(*)
FROM songplays p
LEFT JOIN users u ON u.user_id = p.user_id
WHERE p.start_time >= %(window_start)s AND p.start_time < %(window_end)s
  AND u.user_id IS NULL
