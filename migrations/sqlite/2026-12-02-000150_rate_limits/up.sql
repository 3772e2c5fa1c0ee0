-- Shared rate limits (see the PostgreSQL migration). SQLite serves one instance, whose limits
-- stay in memory: the table exists so both schemas are the same.
CREATE TABLE rate_limits (
    limit_key TEXT PRIMARY KEY NOT NULL,
    tat BIGINT NOT NULL,
    granted INTEGER NOT NULL DEFAULT 0
);
