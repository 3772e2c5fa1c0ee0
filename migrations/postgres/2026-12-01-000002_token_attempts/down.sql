ALTER TABLE password_reset_tokens DROP COLUMN failed_attempts;
