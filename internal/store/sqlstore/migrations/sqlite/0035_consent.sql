-- Gatehouse schema, SQLite dialect, version 35: consent purposes, consent
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
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    doc        TEXT NOT NULL,
    required   INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, name, version)
) STRICT;

CREATE TABLE consent_records (
    tenant_id  TEXT NOT NULL,
    id         TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    purpose    TEXT NOT NULL,
    version    TEXT NOT NULL,
    state      TEXT NOT NULL,
    how        TEXT NOT NULL,
    ip         TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX consent_records_user ON consent_records (tenant_id, user_id, id);

CREATE TABLE consent_asks (
    tenant_id TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    purpose   TEXT NOT NULL,
    version   TEXT NOT NULL,
    asked_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, purpose, version),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE user_preferences (
    tenant_id  TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    channels   TEXT NOT NULL,
    topics     TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE consent_counts (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    purpose   TEXT NOT NULL,
    version   TEXT NOT NULL,
    state     TEXT NOT NULL,
    count     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, purpose, version, state)
) STRICT;
