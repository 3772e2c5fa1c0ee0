-- When the account last logged in, as far as Latchkey knows: carried over by `users import`
-- (Django's auth_user.last_login); NULL = never, or not known.
ALTER TABLE users ADD COLUMN last_login TIMESTAMP;
-- `users delete` removes the account but its audit rows keep the event and the account's id
-- (and nothing else about it), so the foreign key, which would set that id to NULL, goes.
ALTER TABLE audit_events DROP CONSTRAINT audit_events_user_id_fkey;
