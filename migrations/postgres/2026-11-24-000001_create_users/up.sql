-- Accounts. Timestamps are UTC, stored without a zone so both backends share one diesel schema.
CREATE TABLE users (
    id BIGSERIAL PRIMARY KEY,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    -- NFKC + case-folded email, computed by the application: the only column emails are matched on.
    email_key TEXT NOT NULL,
    -- argon2id PHC string; NULL = no usable password (can only be set through a reset).
    password_hash TEXT,
    is_active BOOLEAN NOT NULL DEFAULT TRUE,
    -- Incremented on every password change: sessions and tokens carry the stamp they were issued under.
    password_stamp BIGINT NOT NULL DEFAULT 0,
    password_changed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE UNIQUE INDEX users_username_unique ON users (username);
CREATE UNIQUE INDEX users_email_key_unique ON users (email_key);
