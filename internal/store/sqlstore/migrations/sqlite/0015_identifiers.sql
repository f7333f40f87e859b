-- Gatehouse schema, SQLite dialect, version 15: identifier look-alikes and
-- the SCIM userName.
--
-- email_skel and username_skel hold the confusable skeleton (Unicode
-- TS #39, internal/ident) of email and username as shown. The store
-- derives them in Go with every write, like the *_lc columns; rows written
-- before this version are filled in by the store when it opens the
-- database (NULL means "not yet"). They are indexed but not unique: look-
-- alike accounts made before this version must stay readable, and the
-- directory refuses new ones.
ALTER TABLE users ADD COLUMN email_skel TEXT;
ALTER TABLE users ADD COLUMN username_skel TEXT;
CREATE INDEX users_email_skel ON users (tenant_id, email_skel);
CREATE INDEX users_username_skel ON users (tenant_id, username_skel) WHERE username_skel IS NOT NULL;

-- SCIM shows a user without a username with its email as userName, and
-- provisioning clients look users up by it (`userName eq "..."`).
CREATE INDEX users_uid ON users (tenant_id, COALESCE(username_norm, email_norm));
