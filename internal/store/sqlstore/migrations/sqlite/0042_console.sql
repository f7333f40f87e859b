-- Gatehouse schema, SQLite dialect, version 42: the admin console.
--
-- The first-run setup link's token is kept only as its SHA-256, single use
-- (used_at) and short-lived (expires_at); it belongs to no tenant. Each
-- tenant's console client (the console's first-party OpenID Connect
-- client) is recorded by id, and goes with the tenant.

CREATE TABLE console_setup_tokens (
    hash       BLOB PRIMARY KEY,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

CREATE TABLE console_clients (
    tenant_id  TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
