-- Gatehouse schema, PostgreSQL dialect, version 1.
--
-- Conventions: ids are TEXT (UUID strings); times are BIGINT unix
-- microseconds (UTC), converted in Go, so both backends keep the same
-- precision; booleans are BOOLEAN; JSON is JSONB (except audit changes).
--
-- Key and lookup columns use COLLATE "C": ordering by id (the page cursor)
-- and the prefix ranges of the user search must compare bytes, as SQLite
-- does, whatever the database's default collation is.

CREATE TABLE tenants (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    slug       TEXT COLLATE "C" NOT NULL UNIQUE,
    name       TEXT   NOT NULL,
    settings   JSONB  NOT NULL DEFAULT '{}',
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- given_name_lc / family_name_lc hold strings.ToLower of the names, written
-- by Go, so case folding is the same on both backends and the prefix search
-- is indexable.
CREATE TABLE users (
    tenant_id      TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             TEXT COLLATE "C" NOT NULL,
    email          TEXT    NOT NULL,
    email_norm     TEXT COLLATE "C" NOT NULL,
    username       TEXT,
    username_norm  TEXT COLLATE "C",
    given_name     TEXT    NOT NULL DEFAULT '',
    given_name_lc  TEXT COLLATE "C" NOT NULL DEFAULT '',
    family_name    TEXT    NOT NULL DEFAULT '',
    family_name_lc TEXT COLLATE "C" NOT NULL DEFAULT '',
    phone          TEXT    NOT NULL DEFAULT '',
    locale         TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    phone_verified BOOLEAN NOT NULL DEFAULT FALSE,
    attributes     JSONB   NOT NULL DEFAULT '{}',
    password_hash  TEXT    NOT NULL DEFAULT '',
    version        BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    last_login_at  BIGINT,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email_norm),
    -- NULLs are distinct, so any number of users may have no username.
    UNIQUE (tenant_id, username_norm)
);
CREATE INDEX users_given_name ON users (tenant_id, given_name_lc);
CREATE INDEX users_family_name ON users (tenant_id, family_name_lc);

CREATE TABLE groups (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT COLLATE "C" NOT NULL,
    name        TEXT   NOT NULL,
    description TEXT   NOT NULL DEFAULT '',
    version     BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);

-- Memberships reference both sides through (tenant_id, id), so the database
-- itself refuses a membership that crosses tenants.
CREATE TABLE group_users (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    group_id   TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX group_users_user ON group_users (tenant_id, user_id);

CREATE TABLE group_groups (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    parent_id  TEXT COLLATE "C" NOT NULL,
    child_id   TEXT COLLATE "C" NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, parent_id, child_id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, child_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    CHECK (parent_id <> child_id)
);
CREATE INDEX group_groups_child ON group_groups (tenant_id, child_id);

-- tenant_id may be '_platform', which is no tenants row: no foreign key;
-- DeleteTenant removes a tenant's keys itself.
CREATE TABLE api_keys (
    id           TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id    TEXT COLLATE "C" NOT NULL,
    name         TEXT   NOT NULL,
    scopes       TEXT   NOT NULL DEFAULT '[]',
    hash         BYTEA  NOT NULL UNIQUE,
    hint         TEXT   NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    last_used_at BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

-- No foreign key: the audit log outlives its tenant. changes is TEXT, not
-- JSONB, because the hash chain covers its exact bytes.
CREATE TABLE audit_entries (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    seq         BIGINT NOT NULL,
    id          TEXT   NOT NULL,
    time        BIGINT NOT NULL,
    actor_type  TEXT   NOT NULL DEFAULT '',
    actor_id    TEXT   NOT NULL DEFAULT '',
    action      TEXT   NOT NULL DEFAULT '',
    target_type TEXT   NOT NULL DEFAULT '',
    target_id   TEXT   NOT NULL DEFAULT '',
    client_ip   TEXT   NOT NULL DEFAULT '',
    request_id  TEXT   NOT NULL DEFAULT '',
    changes     TEXT   NOT NULL DEFAULT '',
    prev_hash   TEXT   NOT NULL,
    hash        TEXT   NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
CREATE INDEX audit_entries_action ON audit_entries (tenant_id, action, seq);
CREATE INDEX audit_entries_actor ON audit_entries (tenant_id, actor_id, seq);
CREATE INDEX audit_entries_target ON audit_entries (tenant_id, target_type, target_id, seq);
CREATE INDEX audit_entries_time ON audit_entries (tenant_id, time);

-- One row per chain: the last seq and hash. Appends lock it FOR UPDATE.
CREATE TABLE audit_heads (
    tenant_id TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    seq       BIGINT NOT NULL,
    hash      TEXT   NOT NULL
);

CREATE TABLE signing_keys (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT COLLATE "C" NOT NULL,
    alg        TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    public_key BYTEA  NOT NULL,
    sealed     BYTEA  NOT NULL,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    retire_at  BIGINT,
    PRIMARY KEY (tenant_id, id)
);
