-- Wrong codes presented for an account's token (with the account's `email`): the token dies
-- after five, so a short number code cannot be guessed by trying many accounts' codes.
ALTER TABLE password_reset_tokens ADD COLUMN failed_attempts INTEGER NOT NULL DEFAULT 0;
