ALTER TABLE users DROP COLUMN reset_window_count;
ALTER TABLE users DROP COLUMN reset_window_start;
DROP TABLE audit_events;
DROP TABLE reset_requests;
DROP TABLE password_reset_tokens;
