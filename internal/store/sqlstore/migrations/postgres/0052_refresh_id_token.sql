-- Gatehouse schema, PostgreSQL dialect, version 52: a client may make a
-- refresh a pure access-token renewal, with no new ID token (OIDC Core
-- 12.2); the default keeps sending one.
ALTER TABLE clients ADD COLUMN omit_refresh_id_token BOOLEAN NOT NULL DEFAULT FALSE;
