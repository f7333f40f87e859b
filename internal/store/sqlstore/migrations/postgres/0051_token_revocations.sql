-- Gatehouse schema, PostgreSQL dialect, version 51: JWT access tokens are no
-- longer stored. A token is verified by its signature; what revokes it is
-- a row here, kept only until every token it can match has expired.
--
-- kind says what subject names: 'jti' (one token), 'family' (a refresh
-- family or the authorization request a code came from), 'session' (a
-- browser session; client_id '' for every client) or 'user' (client_id ''
-- for every client). A 'user' row covers only tokens issued at or before
-- revoked_at, and with not_after only those expiring by then; the other
-- kinds cover every token of their subject, whenever it was issued.
CREATE TABLE token_revocations (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    subject    TEXT COLLATE "C" NOT NULL,
    client_id  TEXT COLLATE "C" NOT NULL DEFAULT '',
    revoked_at BIGINT  NOT NULL,
    not_after  BIGINT,
    expires_at BIGINT  NOT NULL
);
CREATE INDEX token_revocations_subject ON token_revocations (tenant_id, subject);
CREATE INDEX token_revocations_expires ON token_revocations (expires_at);

-- Access tokens revoked before this version stay revoked until they expire.
INSERT INTO token_revocations (tenant_id, kind, subject, client_id, revoked_at, not_after, expires_at)
SELECT tenant_id, 'jti', id, '', revoked_at, NULL, expires_at FROM access_tokens WHERE revoked_at IS NOT NULL;
