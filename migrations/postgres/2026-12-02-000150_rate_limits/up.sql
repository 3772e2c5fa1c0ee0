-- Rate limits that answer 429, shared by every instance on this database (GCRA: one row per
-- limit and key holding its theoretical arrival time, in microseconds since the epoch).
-- UNLOGGED: a decision writes no WAL, so it costs no disk flush; a crash of PostgreSQL itself
-- (not of Latchkey, and not a clean PostgreSQL restart) empties the table, which only forgives
-- the counts of the moment. `granted` is how many units the row's last decision handed out.
CREATE UNLOGGED TABLE rate_limits (
    limit_key TEXT PRIMARY KEY NOT NULL,
    tat BIGINT NOT NULL,
    granted INTEGER NOT NULL DEFAULT 0
);
