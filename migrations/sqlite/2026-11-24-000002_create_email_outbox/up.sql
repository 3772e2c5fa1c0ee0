-- The durable outbox: every mail is a row, written in the same transaction as whatever caused it,
-- and sent by worker threads that claim rows with a lease.
CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY,
    -- What the message is ('password_reset', 'password_changed', …): lets `outbox retry --dead`
    -- re-render a message whose body was cleared.
    kind TEXT NOT NULL,
    user_id BIGINT REFERENCES users (id) ON DELETE CASCADE,
    recipient TEXT NOT NULL,
    subject TEXT NOT NULL,
    -- Cleared once the message is sent or dead: it may hold a live link.
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    -- Stable across retries, so the rare duplicate after a crash is recognisable.
    message_id TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sending', 'sent', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    lease_owner TEXT,
    last_error TEXT,
    -- A message that cannot be useful after this time (a reset link) is never sent late.
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP
);

CREATE INDEX email_outbox_due ON email_outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX email_outbox_leased ON email_outbox (lease_until) WHERE state = 'sending';
CREATE INDEX email_outbox_user ON email_outbox (user_id);
