-- Gatehouse schema, PostgreSQL dialect, version 23: forward authentication.
-- Applications behind a reverse proxy are registered per tenant with the
-- hosts they answer on; a domain belongs to one application of a tenant.
-- A proxy code (single use, short-lived, hashed) carries a signed-in
-- browser from the Gatehouse domain to the application's domain, where it
-- becomes a proxy session: the cookie on that domain, hashed, bound to the
-- application and to the Gatehouse session it came from, so ending that
-- session ends access.

CREATE TABLE proxy_apps (
    tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               TEXT COLLATE "C" NOT NULL,
    name             TEXT   NOT NULL,
    domains          TEXT   NOT NULL DEFAULT '[]',
    allowed_groups   TEXT   NOT NULL DEFAULT '[]',
    allowed_roles    TEXT   NOT NULL DEFAULT '[]',
    headers          TEXT   NOT NULL DEFAULT '{}',
    session_lifetime BIGINT NOT NULL,
    mfa              TEXT   NOT NULL DEFAULT '',
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

CREATE TABLE proxy_app_domains (
    tenant_id TEXT COLLATE "C" NOT NULL,
    domain    TEXT COLLATE "C" NOT NULL,
    app_id    TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, domain),
    FOREIGN KEY (tenant_id, app_id) REFERENCES proxy_apps (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX proxy_app_domains_app ON proxy_app_domains (tenant_id, app_id);

CREATE TABLE proxy_codes (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    code_hash  BYTEA  NOT NULL,
    app_id     TEXT COLLATE "C" NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL,
    return_url TEXT   NOT NULL,
    browser_hash BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, code_hash),
    FOREIGN KEY (tenant_id, app_id) REFERENCES proxy_apps (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX proxy_codes_expires ON proxy_codes (expires_at);

CREATE TABLE proxy_sessions (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    token_hash BYTEA  NOT NULL,
    app_id     TEXT COLLATE "C" NOT NULL,
    session_id TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, app_id) REFERENCES proxy_apps (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX proxy_sessions_session ON proxy_sessions (tenant_id, session_id);
CREATE INDEX proxy_sessions_expires ON proxy_sessions (expires_at);
