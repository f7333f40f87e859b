-- Gatehouse schema, SQLite dialect, version 46: initial access tokens for
-- dynamic client registration (RFC 7591 3), stored as SHA-256 hashes; each
-- may register max_uses clients before expires_at, uses counted in the
-- database.

CREATE TABLE registration_tokens (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    token_hash BLOB    NOT NULL,
    max_uses   INTEGER NOT NULL,
    uses       INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash)
);
