-- Gatehouse schema, SQLite dialect, version 2: the OpenID provider.
--
-- Conventions as in version 1. In addition: durations are INTEGER
-- microseconds; lists of strings are TEXT holding a JSON array; an unset
-- optional time (a zero time.Time in Go) is NULL.
--
-- What a client was issued (authorization requests, tokens, consents,
-- device codes) references it through (tenant_id, client_id) and goes with
-- it, so a client re-created under the same id never inherits the old
-- one's grants. What a user holds (sessions, consents, tokens, requests and
-- device codes once authenticated) references the user and goes with them;
-- user_id is NULL where no user is known (yet), which the foreign key
-- ignores. Every child-key column set has an index, so those cascades do
-- not scan.

CREATE TABLE clients (
    tenant_id                 TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                        TEXT    NOT NULL,
    name                      TEXT    NOT NULL DEFAULT '',
    secret_hash               BLOB,
    is_public                 INTEGER NOT NULL DEFAULT 0,
    auth_method               TEXT    NOT NULL DEFAULT '',
    redirect_uris             TEXT    NOT NULL DEFAULT '[]',
    post_logout_redirect_uris TEXT    NOT NULL DEFAULT '[]',
    grant_types               TEXT    NOT NULL DEFAULT '[]',
    scopes                    TEXT    NOT NULL DEFAULT '[]',
    third_party               INTEGER NOT NULL DEFAULT 0,
    id_token_alg              TEXT    NOT NULL DEFAULT '',
    access_token_alg          TEXT    NOT NULL DEFAULT '',
    access_token_ttl          INTEGER NOT NULL DEFAULT 0,
    id_token_ttl              INTEGER NOT NULL DEFAULT 0,
    refresh_token_ttl         INTEGER NOT NULL DEFAULT 0,
    backchannel_logout_uri    TEXT    NOT NULL DEFAULT '',
    jwks                      TEXT,
    claim_mappings            TEXT    NOT NULL DEFAULT '{}',
    version                   INTEGER NOT NULL,
    created_at                INTEGER NOT NULL,
    updated_at                INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE auth_requests (
    tenant_id             TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                    TEXT    NOT NULL,
    client_id             TEXT    NOT NULL,
    redirect_uri          TEXT    NOT NULL DEFAULT '',
    scopes                TEXT    NOT NULL DEFAULT '[]',
    state                 TEXT    NOT NULL DEFAULT '',
    nonce                 TEXT    NOT NULL DEFAULT '',
    response_type         TEXT    NOT NULL DEFAULT '',
    response_mode         TEXT    NOT NULL DEFAULT '',
    code_challenge        TEXT    NOT NULL DEFAULT '',
    code_challenge_method TEXT    NOT NULL DEFAULT '',
    prompt                TEXT    NOT NULL DEFAULT '[]',
    max_age               INTEGER,
    login_hint            TEXT    NOT NULL DEFAULT '',
    ui_locales            TEXT    NOT NULL DEFAULT '[]',
    acr_values            TEXT    NOT NULL DEFAULT '[]',
    user_id               TEXT,
    session_id            TEXT    NOT NULL DEFAULT '',
    auth_time             INTEGER,
    amr                   TEXT    NOT NULL DEFAULT '[]',
    done                  INTEGER NOT NULL DEFAULT 0,
    code_hash             BLOB,
    code_used             INTEGER NOT NULL DEFAULT 0,
    created_at            INTEGER NOT NULL,
    expires_at            INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
-- Requests get their code late; NULLs never clash.
CREATE UNIQUE INDEX auth_requests_code ON auth_requests (tenant_id, code_hash) WHERE code_hash IS NOT NULL;
CREATE INDEX auth_requests_expires ON auth_requests (expires_at);
CREATE INDEX auth_requests_client ON auth_requests (tenant_id, client_id);
CREATE INDEX auth_requests_user ON auth_requests (tenant_id, user_id) WHERE user_id IS NOT NULL;

CREATE TABLE refresh_tokens (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    family_id  TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    session_id TEXT    NOT NULL DEFAULT '',
    scopes     TEXT    NOT NULL DEFAULT '[]',
    audience   TEXT    NOT NULL DEFAULT '[]',
    auth_time  INTEGER,
    amr        TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, hash),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX refresh_tokens_family ON refresh_tokens (tenant_id, family_id);
CREATE INDEX refresh_tokens_session ON refresh_tokens (tenant_id, session_id, client_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens (tenant_id, user_id);
CREATE INDEX refresh_tokens_client ON refresh_tokens (tenant_id, client_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens (expires_at);

-- family_id is the refresh family or the authorization request the token
-- came from, '' for client_credentials (user_id NULL too).
CREATE TABLE access_tokens (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    family_id  TEXT    NOT NULL DEFAULT '',
    client_id  TEXT    NOT NULL,
    user_id    TEXT,
    session_id TEXT    NOT NULL DEFAULT '',
    scopes     TEXT    NOT NULL DEFAULT '[]',
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX access_tokens_family ON access_tokens (tenant_id, family_id);
CREATE INDEX access_tokens_session ON access_tokens (tenant_id, session_id, client_id);
CREATE INDEX access_tokens_user ON access_tokens (tenant_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX access_tokens_client ON access_tokens (tenant_id, client_id);
CREATE INDEX access_tokens_expires ON access_tokens (expires_at);

-- clients lists the client ids that received tokens in the session.
CREATE TABLE sessions (
    tenant_id    TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT    NOT NULL,
    user_id      TEXT    NOT NULL,
    token_hash   BLOB    NOT NULL,
    auth_time    INTEGER,
    amr          TEXT    NOT NULL DEFAULT '[]',
    user_agent   TEXT    NOT NULL DEFAULT '',
    ip           TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER,
    clients      TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX sessions_user ON sessions (tenant_id, user_id);

-- No foreign key: failures may be counted before a tenant is known (under
-- PlatformTenant). DeleteTenant removes a tenant's rows itself.
CREATE TABLE throttle (
    tenant_id    TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    count        INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    last_failure INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT, WITHOUT ROWID;

CREATE TABLE consents (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL,
    scopes     TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, client_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX consents_client ON consents (tenant_id, client_id);

CREATE TABLE device_codes (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    device_code_hash BLOB    NOT NULL,
    user_code        TEXT    NOT NULL,
    client_id        TEXT    NOT NULL,
    scopes           TEXT    NOT NULL DEFAULT '[]',
    expires_at       INTEGER NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
    user_id          TEXT,
    session_id       TEXT    NOT NULL DEFAULT '',
    auth_time        INTEGER,
    amr              TEXT    NOT NULL DEFAULT '[]',
    last_poll        INTEGER,
    done             INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, device_code_hash),
    UNIQUE (tenant_id, user_code),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX device_codes_expires ON device_codes (expires_at);
CREATE INDEX device_codes_client ON device_codes (tenant_id, client_id);
CREATE INDEX device_codes_user ON device_codes (tenant_id, user_id) WHERE user_id IS NOT NULL;
