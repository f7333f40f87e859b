-- Gatehouse schema, SQLite dialect, version 58: no index covers
-- users.last_login_at any more, so a sign-in's write of it updates the
-- row alone (SQLite rewrites only the indexes whose columns an UPDATE
-- sets). The retention run, the index's only reader, walks a tenant's
-- users by primary key instead.
DROP INDEX IF EXISTS users_last_active;
