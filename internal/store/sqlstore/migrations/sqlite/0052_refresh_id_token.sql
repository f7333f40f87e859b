-- Gatehouse schema, SQLite dialect, version 52: a client may make a
-- refresh a pure access-token renewal, with no new ID token (OIDC Core
-- 12.2); the default keeps sending one.
ALTER TABLE clients ADD COLUMN omit_refresh_id_token INTEGER NOT NULL DEFAULT 0;
