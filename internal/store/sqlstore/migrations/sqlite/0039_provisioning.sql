-- Gatehouse schema, SQLite dialect, version 39: outbound SCIM provisioning
-- targets, the links of our users' and groups' ids to the targets' ids,
-- and each target's recent errors. Times are microseconds since the epoch.

CREATE TABLE provisioning_targets (
    id          TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT   NOT NULL,
    base_url    TEXT   NOT NULL,
    token       BLOB  NOT NULL,
    mapping     TEXT   NOT NULL,
    scope_groups TEXT  NOT NULL,
    enabled     INTEGER NOT NULL,
    sync_state  TEXT   NOT NULL DEFAULT '',
    synced_at   INTEGER,
    sync_count  INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX provisioning_targets_tenant ON provisioning_targets (tenant_id, id);

CREATE TABLE provisioning_links (
    target_id  TEXT NOT NULL REFERENCES provisioning_targets (id) ON DELETE CASCADE,
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    local_id   TEXT NOT NULL,
    remote_id  TEXT   NOT NULL,
    PRIMARY KEY (target_id, kind, local_id)
) STRICT;

CREATE TABLE provisioning_errors (
    id          TEXT NOT NULL PRIMARY KEY,
    target_id   TEXT NOT NULL REFERENCES provisioning_targets (id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL,
    at          INTEGER NOT NULL,
    event_id    TEXT   NOT NULL DEFAULT '',
    kind        TEXT   NOT NULL DEFAULT '',
    local_id    TEXT   NOT NULL DEFAULT '',
    operation   TEXT   NOT NULL DEFAULT '',
    status_code INTEGER NOT NULL DEFAULT 0,
    message     TEXT   NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX provisioning_errors_target ON provisioning_errors (target_id, id);
