-- Gatehouse schema, SQLite dialect, version 40: DPoP (RFC 9449).
-- A refresh token bound to a DPoP key keeps the key's RFC 7638 thumbprint
-- ('' when unbound); a client may require DPoP and, with it, server nonces.

ALTER TABLE refresh_tokens ADD COLUMN jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN dpop_bound_access_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN dpop_nonce_required INTEGER NOT NULL DEFAULT 0;
