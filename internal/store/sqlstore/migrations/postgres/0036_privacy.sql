-- Gatehouse schema, PostgreSQL dialect, version 36: data-subject rights.
--
-- privacy_user_keys holds each user's data key, sealed with the master key:
-- the personal data of the audit entries about the user is encrypted under
-- it. Erasure sets sealed to NULL and erased_at (a tombstone, so a reader
-- tells an erased person from a key never made); without the key those
-- values can no longer be read (crypto-shredding). No foreign key to users:
-- an ordinary delete keeps the audit log readable, only erasure shreds.
CREATE TABLE privacy_user_keys (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    sealed     BYTEA,
    created_at BIGINT NOT NULL,
    erased_at  BIGINT,
    PRIMARY KEY (tenant_id, user_id)
);

-- A legal hold blocks the user's erasure until it is lifted.
CREATE TABLE privacy_holds (
    tenant_id TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    reason    TEXT COLLATE "C" NOT NULL DEFAULT '',
    set_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
    set_at    BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- Data-subject requests and their deadlines. user_id is kept after an
-- erasure (the request is the proof it was honoured) and names no one
-- once the user row is gone.
CREATE TABLE privacy_requests (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT COLLATE "C" NOT NULL,
    type       TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    regime     TEXT COLLATE "C" NOT NULL,
    status     TEXT COLLATE "C" NOT NULL,
    note       TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    due_at     BIGINT NOT NULL,
    closed_at  BIGINT,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX privacy_requests_status ON privacy_requests (tenant_id, status, due_at);

-- When an inactive account was told of its coming deletion.
CREATE TABLE privacy_retention_notices (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    noticed_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

-- Tenants whose audit chain has been converted to sealed personal data
-- (the one-time re-chaining run at start-up or by gatehouse migrate).
CREATE TABLE privacy_audit_sealed (
    tenant_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    sealed_at BIGINT NOT NULL
);

-- Inactivity is read by last sign-in, else creation.
CREATE INDEX users_last_active ON users (tenant_id, COALESCE(last_login_at, created_at));
