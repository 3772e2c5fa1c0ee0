-- Accounts. Timestamps are UTC text written by the application (never SQLite's CURRENT_TIMESTAMP),
-- so comparisons order correctly and match the PostgreSQL schema.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    email TEXT NOT NULL,
    -- NFKC + case-folded email, computed by the application: the only column emails are matched on.
    email_key TEXT NOT NULL,
    -- argon2id PHC string; NULL = no usable password (can only be set through a reset).
    password_hash TEXT,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    -- Incremented on every password change: sessions and tokens carry the stamp they were issued under.
    password_stamp BIGINT NOT NULL DEFAULT 0,
    password_changed_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE UNIQUE INDEX users_username_unique ON users (username);
CREATE UNIQUE INDEX users_email_key_unique ON users (email_key);
