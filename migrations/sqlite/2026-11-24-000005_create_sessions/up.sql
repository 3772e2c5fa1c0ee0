-- Browser sessions, server-side: the cookie carries only an (encrypted) random key, stored here
-- as HMAC-SHA256. Logging out deletes the row; a password change deletes the account's rows.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    key_hash TEXT NOT NULL,
    -- The logged-in account, if any (copied from the state so revocation is one DELETE).
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    -- The session's values (CSRF token, account, a reset token in progress) as JSON.
    state TEXT NOT NULL,
    -- Absolute timeout counts from here; idle timeout from the last activity (expires_at).
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX sessions_key_hash ON sessions (key_hash);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);
