-- When the account last logged in, as far as Latchkey knows: carried over by `users import`
-- (Django's auth_user.last_login); NULL = never, or not known.
ALTER TABLE users ADD COLUMN last_login TIMESTAMP;
-- `users delete` removes the account but its audit rows keep the event and the account's id
-- (and nothing else about it), so the foreign key, which would set that id to NULL, goes.
-- SQLite cannot drop a constraint: the table is rebuilt with the same columns.
CREATE TABLE audit_events_new (
    id INTEGER PRIMARY KEY,
    user_id BIGINT,
    event TEXT NOT NULL,
    ip_address TEXT,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO audit_events_new (id, user_id, event, ip_address, created_at)
    SELECT id, user_id, event, ip_address, created_at FROM audit_events;
DROP TABLE audit_events;
ALTER TABLE audit_events_new RENAME TO audit_events;
CREATE INDEX audit_events_user ON audit_events (user_id);
