-- Gatehouse schema, PostgreSQL dialect, version 33: synchronous hooks.
--
-- A tenant's hooks of the login and registration flow, at most one per
-- trigger. The signing secret is sealed with the master key (bound to the
-- tenant and id); allowed_claims is a JSON array of claim names.

CREATE TABLE hooks (
    tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             TEXT COLLATE "C" NOT NULL,
    trigger_name   TEXT NOT NULL,
    url            TEXT NOT NULL,
    timeout_ms     BIGINT NOT NULL,
    on_failure     TEXT NOT NULL,
    allowed_claims TEXT NOT NULL DEFAULT '[]',
    sealed_secret  BYTEA NOT NULL,
    version        BIGINT NOT NULL,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, trigger_name)
);
