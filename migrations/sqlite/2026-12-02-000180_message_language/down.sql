ALTER TABLE email_outbox DROP COLUMN language;
ALTER TABLE reset_requests DROP COLUMN language;
