-- Gatehouse schema, PostgreSQL dialect, version 42: the admin console.
--
-- The first-run setup link's token is kept only as its SHA-256, single use
-- (used_at) and short-lived (expires_at); it belongs to no tenant. Each
-- tenant's console client (the console's first-party OpenID Connect
-- client) is recorded by id, and goes with the tenant.

CREATE TABLE console_setup_tokens (
    hash       BYTEA PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);

CREATE TABLE console_clients (
    tenant_id  TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    client_id  TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL
);
