-- Gatehouse schema, PostgreSQL dialect, version 35: consent purposes, consent
-- records and communication preferences.
--
-- consent_purposes holds every version of a tenant's purposes (doc: the
-- translated title and description as JSON); the newest version of a
-- name is the one users are asked. consent_records are appended, never
-- changed: a user's newest record of a purpose is its state. consent_asks
-- remembers the optional purpose versions a user skipped, so they are
-- asked once. user_preferences holds the communication channels and
-- topics as JSON. consent_counts keeps, per purpose version and state, how
-- many records of erased users there were: proof of consent without the
-- person.

CREATE TABLE consent_purposes (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT COLLATE "C" NOT NULL,
    version    TEXT COLLATE "C" NOT NULL,
    doc        TEXT COLLATE "C" NOT NULL,
    required   BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, name, version)
);

CREATE TABLE consent_records (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    purpose    TEXT COLLATE "C" NOT NULL,
    version    TEXT COLLATE "C" NOT NULL,
    state      TEXT COLLATE "C" NOT NULL,
    how        TEXT COLLATE "C" NOT NULL,
    ip         TEXT COLLATE "C" NOT NULL,
    user_agent TEXT COLLATE "C" NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX consent_records_user ON consent_records (tenant_id, user_id, id);

CREATE TABLE consent_asks (
    tenant_id TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    purpose   TEXT COLLATE "C" NOT NULL,
    version   TEXT COLLATE "C" NOT NULL,
    asked_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id, purpose, version),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE user_preferences (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    channels   TEXT COLLATE "C" NOT NULL,
    topics     TEXT COLLATE "C" NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE consent_counts (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    purpose   TEXT COLLATE "C" NOT NULL,
    version   TEXT COLLATE "C" NOT NULL,
    state     TEXT COLLATE "C" NOT NULL,
    count     BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, purpose, version, state)
);
