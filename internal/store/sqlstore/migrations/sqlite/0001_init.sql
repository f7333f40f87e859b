-- Gatehouse schema, SQLite dialect, version 1.
--
-- Conventions: ids are TEXT (UUID strings); times are INTEGER unix
-- microseconds (UTC), converted in Go; booleans are INTEGER 0/1; JSON is
-- TEXT. Tables are STRICT so a wrongly typed bind fails loudly instead of
-- being stored with SQLite's loose affinity.

CREATE TABLE tenants (
    id         TEXT    NOT NULL PRIMARY KEY,
    slug       TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    settings   TEXT    NOT NULL DEFAULT '{}',
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- given_name_lc / family_name_lc hold strings.ToLower of the names, written
-- by Go: SQLite's lower() folds ASCII only, and keeping the folded form in a
-- column makes the case-insensitive prefix search indexable on both backends.
CREATE TABLE users (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id             TEXT    NOT NULL,
    email          TEXT    NOT NULL,
    email_norm     TEXT    NOT NULL,
    username       TEXT,
    username_norm  TEXT,
    given_name     TEXT    NOT NULL DEFAULT '',
    given_name_lc  TEXT    NOT NULL DEFAULT '',
    family_name    TEXT    NOT NULL DEFAULT '',
    family_name_lc TEXT    NOT NULL DEFAULT '',
    phone          TEXT    NOT NULL DEFAULT '',
    locale         TEXT    NOT NULL DEFAULT '',
    status         TEXT    NOT NULL,
    email_verified INTEGER NOT NULL DEFAULT 0,
    phone_verified INTEGER NOT NULL DEFAULT 0,
    attributes     TEXT    NOT NULL DEFAULT '{}',
    password_hash  TEXT    NOT NULL DEFAULT '',
    version        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    last_login_at  INTEGER,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email_norm),
    -- NULLs are distinct, so any number of users may have no username.
    UNIQUE (tenant_id, username_norm)
) STRICT;
CREATE INDEX users_given_name ON users (tenant_id, given_name_lc);
CREATE INDEX users_family_name ON users (tenant_id, family_name_lc);

CREATE TABLE groups (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    description TEXT    NOT NULL DEFAULT '',
    version     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
) STRICT;

-- Memberships reference both sides through (tenant_id, id), so the database
-- itself refuses a membership that crosses tenants.
CREATE TABLE group_users (
    tenant_id  TEXT    NOT NULL,
    group_id   TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, group_id, user_id),
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX group_users_user ON group_users (tenant_id, user_id);

CREATE TABLE group_groups (
    tenant_id  TEXT    NOT NULL,
    parent_id  TEXT    NOT NULL,
    child_id   TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, parent_id, child_id),
    FOREIGN KEY (tenant_id, parent_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, child_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    CHECK (parent_id <> child_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX group_groups_child ON group_groups (tenant_id, child_id);

-- tenant_id may be '_platform', which is no tenants row: no foreign key;
-- DeleteTenant removes a tenant's keys itself.
CREATE TABLE api_keys (
    id           TEXT    NOT NULL PRIMARY KEY,
    tenant_id    TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    scopes       TEXT    NOT NULL DEFAULT '[]',
    hash         BLOB    NOT NULL UNIQUE,
    hint         TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    revoked_at   INTEGER,
    last_used_at INTEGER
) STRICT;
CREATE INDEX api_keys_tenant ON api_keys (tenant_id, id);

-- No foreign key: the audit log outlives its tenant. changes is TEXT because
-- the hash chain covers its exact bytes.
CREATE TABLE audit_entries (
    tenant_id   TEXT    NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT    NOT NULL,
    time        INTEGER NOT NULL,
    actor_type  TEXT    NOT NULL DEFAULT '',
    actor_id    TEXT    NOT NULL DEFAULT '',
    action      TEXT    NOT NULL DEFAULT '',
    target_type TEXT    NOT NULL DEFAULT '',
    target_id   TEXT    NOT NULL DEFAULT '',
    client_ip   TEXT    NOT NULL DEFAULT '',
    request_id  TEXT    NOT NULL DEFAULT '',
    changes     TEXT    NOT NULL DEFAULT '',
    prev_hash   TEXT    NOT NULL,
    hash        TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, seq)
) STRICT;
CREATE INDEX audit_entries_action ON audit_entries (tenant_id, action, seq);
CREATE INDEX audit_entries_actor ON audit_entries (tenant_id, actor_id, seq);
CREATE INDEX audit_entries_target ON audit_entries (tenant_id, target_type, target_id, seq);
CREATE INDEX audit_entries_time ON audit_entries (tenant_id, time);

-- One row per chain: the last seq and hash. Appends lock it.
CREATE TABLE audit_heads (
    tenant_id TEXT    NOT NULL PRIMARY KEY,
    seq       INTEGER NOT NULL,
    hash      TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE signing_keys (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    alg        TEXT    NOT NULL,
    status     TEXT    NOT NULL,
    public_key BLOB    NOT NULL,
    sealed     BLOB    NOT NULL,
    version    INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    retire_at  INTEGER,
    PRIMARY KEY (tenant_id, id)
) STRICT;
