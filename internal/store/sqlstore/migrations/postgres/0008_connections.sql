-- Gatehouse schema, PostgreSQL dialect, version 8: identity brokering.
--
-- Connections are a tenant's upstream identity providers; their client
-- secret (or signing key) is sealed with the master key. Identities link a
-- user to an upstream subject through one connection and go with either.
-- Broker states are logins in flight and links waiting for proof, found by
-- the SHA-256 of the value the browser carries, sealed, used once.

CREATE TABLE connections (
    tenant_id     TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT COLLATE "C" NOT NULL,
    name          TEXT COLLATE "C" NOT NULL,
    type          TEXT COLLATE "C" NOT NULL,
    display_name  TEXT COLLATE "C" NOT NULL DEFAULT '',
    enabled       BOOLEAN NOT NULL DEFAULT TRUE,
    config        TEXT COLLATE "C" NOT NULL DEFAULT '{}',
    sealed_secret BYTEA,
    version       BIGINT  NOT NULL,
    created_at    BIGINT  NOT NULL,
    updated_at    BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE UNIQUE INDEX connections_name ON connections (tenant_id, name);

CREATE TABLE user_identities (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    connection_id TEXT COLLATE "C" NOT NULL,
    subject       TEXT COLLATE "C" NOT NULL,
    email         TEXT COLLATE "C" NOT NULL DEFAULT '',
    sealed_tokens BYTEA,
    created_at    BIGINT  NOT NULL,
    last_login_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
);

CREATE UNIQUE INDEX user_identities_subject ON user_identities (tenant_id, connection_id, subject);
CREATE INDEX user_identities_user ON user_identities (tenant_id, user_id);

CREATE TABLE broker_states (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hash       BYTEA   NOT NULL,
    purpose    TEXT COLLATE "C" NOT NULL,
    sealed     BYTEA   NOT NULL,
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, hash)
);

CREATE INDEX broker_states_expiry ON broker_states (expires_at);
