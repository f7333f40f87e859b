-- Gatehouse schema, SQLite dialect, version 7: multi-factor authentication.
--
-- A factor's secret (TOTP seed, WebAuthn credential) is sealed with the
-- master key by the mfa service, bound to tenant and factor id; this table
-- never sees a seed. last_step is the replay guard of TOTP: a step is
-- accepted only by a conditional UPDATE raising it. Recovery codes are
-- SHA-256 hashes, spent by setting used_at.

CREATE TABLE mfa_factors (
    tenant_id     TEXT    NOT NULL,
    id            TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    secret        BLOB,
    credential_id BLOB,
    confirmed     INTEGER NOT NULL DEFAULT 0,
    last_step     INTEGER NOT NULL DEFAULT 0,
    sign_count    INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    last_used_at  INTEGER,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE INDEX mfa_factors_user ON mfa_factors (tenant_id, user_id);
CREATE UNIQUE INDEX mfa_factors_credential ON mfa_factors (tenant_id, credential_id);

CREATE TABLE mfa_recovery_codes (
    tenant_id  TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    hash       BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    used_at    INTEGER,
    PRIMARY KEY (tenant_id, user_id, hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

-- WebAuthn ceremonies in flight: the library's session data (challenge,
-- user, expectations) under the SHA-256 of a random ticket the browser
-- holds; taken (deleted) once, so an assertion cannot be replayed.
CREATE TABLE mfa_ceremonies (
    tenant_id  TEXT    NOT NULL,
    hash       BLOB   NOT NULL,
    data       BLOB   NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, hash)
) STRICT;

CREATE INDEX mfa_ceremonies_expiry ON mfa_ceremonies (expires_at);
