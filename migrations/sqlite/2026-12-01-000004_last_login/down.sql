CREATE TABLE audit_events_old (
    id INTEGER PRIMARY KEY,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    event TEXT NOT NULL,
    ip_address TEXT,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO audit_events_old (id, user_id, event, ip_address, created_at)
    SELECT id, CASE WHEN user_id IN (SELECT id FROM users) THEN user_id END, event, ip_address, created_at
    FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_old RENAME TO audit_events;
CREATE INDEX audit_events_user ON audit_events (user_id);
ALTER TABLE users DROP COLUMN last_login;
