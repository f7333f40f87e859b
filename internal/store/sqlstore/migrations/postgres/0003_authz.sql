-- Gatehouse schema, PostgreSQL dialect, version 3: authorization (roles,
-- assignments, just-in-time elevations, break-glass accounts, access
-- reviews) and the per-client choice of role and permission claims.
--
-- Conventions as in versions 1 and 2 (COLLATE "C" on id columns). An assignment names exactly one of a
-- user and a group, each through a composite foreign key, so it goes with
-- its role, user or group. Review items are a snapshot: they keep the
-- assignment's id and names but no foreign key to it, so the report still
-- says who had what after a revocation.

ALTER TABLE clients ADD COLUMN authz_claims TEXT NOT NULL DEFAULT '{}';

CREATE TABLE roles (
    tenant_id    TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id           TEXT COLLATE "C" NOT NULL,
    name         TEXT    NOT NULL,
    description  TEXT    NOT NULL DEFAULT '',
    permissions  TEXT    NOT NULL DEFAULT '[]',
    application  TEXT    NOT NULL DEFAULT '',
    privileged   BOOLEAN NOT NULL DEFAULT FALSE,
    max_duration BIGINT  NOT NULL DEFAULT 0,
    approval     TEXT    NOT NULL DEFAULT '',
    approvers    TEXT    NOT NULL DEFAULT '[]',
    require_mfa  BOOLEAN NOT NULL DEFAULT FALSE,
    version      BIGINT  NOT NULL,
    created_at   BIGINT  NOT NULL,
    updated_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, name)
);
CREATE INDEX roles_application ON roles (tenant_id, application);

CREATE TABLE role_assignments (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    role_id    TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C",
    group_id   TEXT COLLATE "C",
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, group_id) REFERENCES groups (tenant_id, id) ON DELETE CASCADE,
    CHECK ((user_id IS NULL) <> (group_id IS NULL))
);
CREATE UNIQUE INDEX role_assignments_user ON role_assignments (tenant_id, user_id, role_id) WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX role_assignments_group ON role_assignments (tenant_id, group_id, role_id) WHERE group_id IS NOT NULL;
CREATE INDEX role_assignments_role ON role_assignments (tenant_id, role_id);

CREATE TABLE elevations (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    role_id      TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    reason       TEXT    NOT NULL,
    duration     BIGINT  NOT NULL,
    status       TEXT    NOT NULL,
    requested_at BIGINT  NOT NULL,
    decided_by   TEXT    NOT NULL DEFAULT '',
    decided_at   BIGINT,
    expires_at   BIGINT,
    revoked_by   TEXT    NOT NULL DEFAULT '',
    revoked_at   BIGINT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, role_id) REFERENCES roles (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX elevations_user ON elevations (tenant_id, user_id, status);
CREATE INDEX elevations_role ON elevations (tenant_id, role_id);

CREATE TABLE break_glass (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    note       TEXT    NOT NULL DEFAULT '',
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE review_campaigns (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT COLLATE "C" NOT NULL,
    name        TEXT    NOT NULL,
    scope       TEXT    NOT NULL,
    application TEXT    NOT NULL DEFAULT '',
    reviewers   TEXT    NOT NULL DEFAULT '[]',
    deadline    BIGINT  NOT NULL,
    created_by  TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE review_items (
    tenant_id     TEXT COLLATE "C" NOT NULL,
    campaign_id   TEXT COLLATE "C" NOT NULL,
    id            TEXT COLLATE "C" NOT NULL,
    assignment_id TEXT COLLATE "C" NOT NULL,
    role_id       TEXT COLLATE "C" NOT NULL,
    role_name     TEXT    NOT NULL,
    user_id       TEXT    NOT NULL DEFAULT '',
    group_id      TEXT    NOT NULL DEFAULT '',
    subject_name  TEXT    NOT NULL DEFAULT '',
    decision      TEXT    NOT NULL DEFAULT '',
    decided_by    TEXT    NOT NULL DEFAULT '',
    decided_at    BIGINT,
    note          TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (tenant_id, campaign_id, id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES review_campaigns (tenant_id, id) ON DELETE CASCADE
);
