-- Reset tokens: only the HMAC-SHA256 of a token (keyed by the secret key) is stored.
CREATE TABLE password_reset_tokens (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    -- Issued with `latchkey tokens issue`: usable by an account without a password (an invitation).
    issued_by_admin BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX password_reset_tokens_hash ON password_reset_tokens (token_hash);
CREATE INDEX password_reset_tokens_user ON password_reset_tokens (user_id);
CREATE INDEX password_reset_tokens_expiry ON password_reset_tokens (expires_at);

-- Accepted reset requests, resolved by the workers: every valid request does the same work in
-- the request path (one insert), whether or not the account exists.
CREATE TABLE reset_requests (
    id BIGSERIAL PRIMARY KEY,
    -- Canonical email key, or the exact username when LATCHKEY_LOOKUP_FIELD=username.
    lookup_key TEXT NOT NULL,
    ip_address TEXT,
    user_agent TEXT,
    created_at TIMESTAMP NOT NULL
);

-- Security events of an account (password reset, change, …), without secrets.
CREATE TABLE audit_events (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    event TEXT NOT NULL,
    ip_address TEXT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_user ON audit_events (user_id);

-- The silent per-account cap on reset mails: a fixed window per account, shared by instances.
ALTER TABLE users ADD COLUMN reset_window_start TIMESTAMP;
ALTER TABLE users ADD COLUMN reset_window_count INTEGER NOT NULL DEFAULT 0;
