-- Gatehouse schema, SQLite dialect, version 8: identity brokering.
--
-- Connections are a tenant's upstream identity providers; their client
-- secret (or signing key) is sealed with the master key. Identities link a
-- user to an upstream subject through one connection and go with either.
-- Broker states are logins in flight and links waiting for proof, found by
-- the SHA-256 of the value the browser carries, sealed, used once.

CREATE TABLE connections (
    tenant_id     TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id            TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    type          TEXT    NOT NULL,
    display_name  TEXT    NOT NULL DEFAULT '',
    enabled       INTEGER NOT NULL DEFAULT 1,
    config        TEXT    NOT NULL DEFAULT '{}',
    sealed_secret BLOB,
    version       INTEGER NOT NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE UNIQUE INDEX connections_name ON connections (tenant_id, name);

CREATE TABLE user_identities (
    tenant_id     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    connection_id TEXT    NOT NULL,
    subject       TEXT    NOT NULL,
    email         TEXT    NOT NULL DEFAULT '',
    sealed_tokens BLOB,
    created_at    INTEGER NOT NULL,
    last_login_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, connection_id) REFERENCES connections (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE UNIQUE INDEX user_identities_subject ON user_identities (tenant_id, connection_id, subject);
CREATE INDEX user_identities_user ON user_identities (tenant_id, user_id);

CREATE TABLE broker_states (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    hash       BLOB    NOT NULL,
    purpose    TEXT    NOT NULL,
    sealed     BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hash)
) STRICT;

CREATE INDEX broker_states_expiry ON broker_states (expires_at);
