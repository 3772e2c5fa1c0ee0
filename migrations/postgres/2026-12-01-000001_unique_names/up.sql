-- The username's uniqueness key (NFKC, case folding, NFKC), computed by the application: SQL
-- cannot normalise Unicode, so `latchkey migrate` fills it for existing rows after this runs.
-- NULL = not computed yet, or it would collide with another account's key (reported by
-- `latchkey migrate`); NULLs never conflict, so such legacy rows stay usable.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_username_key_unique ON users (username_key);
