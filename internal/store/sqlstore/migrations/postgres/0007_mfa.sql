-- Gatehouse schema, PostgreSQL dialect, version 7: multi-factor authentication.
--
-- A factor's secret (TOTP seed, WebAuthn credential) is sealed with the
-- master key by the mfa service, bound to tenant and factor id; this table
-- never sees a seed. last_step is the replay guard of TOTP: a step is
-- accepted only by a conditional UPDATE raising it. Recovery codes are
-- SHA-256 hashes, spent by setting used_at.

CREATE TABLE mfa_factors (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    user_id       TEXT COLLATE "C" NOT NULL,
    kind          TEXT    NOT NULL,
    name          TEXT    NOT NULL DEFAULT '',
    secret        BYTEA,
    credential_id BYTEA,
    confirmed     INTEGER NOT NULL DEFAULT 0,
    last_step     BIGINT  NOT NULL DEFAULT 0,
    sign_count    BIGINT  NOT NULL DEFAULT 0,
    created_at    BIGINT  NOT NULL,
    last_used_at  BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX mfa_factors_user ON mfa_factors (tenant_id, user_id);
CREATE UNIQUE INDEX mfa_factors_credential ON mfa_factors (tenant_id, credential_id);

CREATE TABLE mfa_recovery_codes (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    hash       BYTEA  NOT NULL,
    created_at BIGINT NOT NULL,
    used_at    BIGINT,
    PRIMARY KEY (tenant_id, user_id, hash),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- WebAuthn ceremonies in flight: the library's session data (challenge,
-- user, expectations) under the SHA-256 of a random ticket the browser
-- holds; taken (deleted) once, so an assertion cannot be replayed.
CREATE TABLE mfa_ceremonies (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    hash       BYTEA   NOT NULL,
    data       BYTEA   NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, hash)
);

CREATE INDEX mfa_ceremonies_expiry ON mfa_ceremonies (expires_at);
