UPDATE audit_events SET user_id = NULL
    WHERE user_id IS NOT NULL AND user_id NOT IN (SELECT id FROM users);
ALTER TABLE audit_events ADD CONSTRAINT audit_events_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE SET NULL;
ALTER TABLE users DROP COLUMN last_login;
