-- The audit log in full: who (user agent too), a small JSON detail (never a secret), and
-- whether the event still has to be handed to the webhook outbox.
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
ALTER TABLE audit_events ADD COLUMN detail TEXT NOT NULL DEFAULT '{}';
ALTER TABLE audit_events ADD COLUMN webhook_pending BOOLEAN NOT NULL DEFAULT FALSE;
CREATE INDEX audit_events_created ON audit_events (created_at);
CREATE INDEX audit_events_pending ON audit_events (id) WHERE webhook_pending;

-- "This wasn't me" links of password-changed notices: only the keyed hash is stored.
CREATE TABLE wasnt_me_tokens (
    id INTEGER PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX wasnt_me_tokens_hash ON wasnt_me_tokens (token_hash);
CREATE INDEX wasnt_me_tokens_user ON wasnt_me_tokens (user_id);
CREATE INDEX wasnt_me_tokens_expiry ON wasnt_me_tokens (expires_at);

-- Devices: where and when a browser session was used (API tokens already have these).
ALTER TABLE sessions ADD COLUMN device_id TEXT;
ALTER TABLE sessions ADD COLUMN ip_address TEXT;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN last_used_at TIMESTAMP;
