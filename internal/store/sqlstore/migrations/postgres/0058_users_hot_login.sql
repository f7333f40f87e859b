-- Gatehouse schema, PostgreSQL dialect, version 58: a sign-in's write of
-- users.last_login_at can be a heap-only (HOT) update, which writes no
-- index entry: no index covers last_login_at any more, and users' pages
-- keep 10% free for the new row version (fillfactor; rows written before
-- this version move to such pages when the table is rewritten, e.g. by
-- VACUUM FULL or pg_repack). Before, every sign-in inserted an entry into
-- each of the table's indexes because users_last_active covered the
-- column. The retention run, its only reader, walks a tenant's users by
-- primary key instead (it runs once per tenant with retention set, not
-- per sign-in).
DROP INDEX IF EXISTS users_last_active;
ALTER TABLE users SET (fillfactor = 90);
