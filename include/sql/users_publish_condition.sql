-- A shadow users row is published only if no later window has published a songplay of that
-- user: checked again under the publish's locks, because a later run may have published after
-- this run built its shadow (users_select.sql applies the same rule when it builds it).
NOT EXISTS (
    SELECT 1
    FROM songplays p
    WHERE p.user_id = shadow.user_id
      AND p.start_time >= %(window_end)s
)
