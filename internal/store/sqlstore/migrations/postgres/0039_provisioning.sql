-- Gatehouse schema, PostgreSQL dialect, version 39: outbound SCIM provisioning
-- targets, the links of our users' and groups' ids to the targets' ids,
-- and each target's recent errors. Times are microseconds since the epoch.

CREATE TABLE provisioning_targets (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT   NOT NULL,
    base_url    TEXT   NOT NULL,
    token       BYTEA  NOT NULL,
    mapping     TEXT   NOT NULL,
    scope_groups TEXT  NOT NULL,
    enabled     BIGINT NOT NULL,
    sync_state  TEXT   NOT NULL DEFAULT '',
    synced_at   BIGINT,
    sync_count  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX provisioning_targets_tenant ON provisioning_targets (tenant_id, id);

CREATE TABLE provisioning_links (
    target_id  TEXT COLLATE "C" NOT NULL REFERENCES provisioning_targets (id) ON DELETE CASCADE,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    local_id   TEXT COLLATE "C" NOT NULL,
    remote_id  TEXT   NOT NULL,
    PRIMARY KEY (target_id, kind, local_id)
);

CREATE TABLE provisioning_errors (
    id          TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    target_id   TEXT COLLATE "C" NOT NULL REFERENCES provisioning_targets (id) ON DELETE CASCADE,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    at          BIGINT NOT NULL,
    event_id    TEXT   NOT NULL DEFAULT '',
    kind        TEXT   NOT NULL DEFAULT '',
    local_id    TEXT   NOT NULL DEFAULT '',
    operation   TEXT   NOT NULL DEFAULT '',
    status_code BIGINT NOT NULL DEFAULT 0,
    message     TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX provisioning_errors_target ON provisioning_errors (target_id, id);
