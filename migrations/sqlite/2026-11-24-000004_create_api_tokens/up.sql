-- Login bearer tokens: only the HMAC-SHA256 of a token is stored. A token is valid while it has
-- not expired and its password_stamp equals its account's (a password change makes it stale).
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    password_stamp BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- Updated at most once a minute, so authenticating is not a write per request.
    last_used_at TIMESTAMP,
    ip_address TEXT,
    user_agent TEXT
);
CREATE UNIQUE INDEX api_tokens_hash ON api_tokens (token_hash);
CREATE INDEX api_tokens_user ON api_tokens (user_id);
CREATE INDEX api_tokens_expiry ON api_tokens (expires_at);

-- Failed attempts per key in a fixed window: failed logins per account (or per unknown login
-- name) and failed password changes per account. Shared by every instance.
CREATE TABLE login_throttles (
    throttle_key TEXT PRIMARY KEY,
    window_start TIMESTAMP NOT NULL,
    failures INTEGER NOT NULL
);
