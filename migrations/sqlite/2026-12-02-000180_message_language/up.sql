-- The language of the request that caused a reset request or a message: the mail is written in it.
ALTER TABLE reset_requests ADD COLUMN language TEXT;
ALTER TABLE email_outbox ADD COLUMN language TEXT;
