-- Gatehouse schema, SQLite dialect, version 25: bulk imports.
-- user_external_ids maps the id a user had in the system it came from to
-- the user here, so running one import twice changes nothing. import_jobs
-- records every import (from the CLI or the API): its counts, the last
-- committed record (a crashed run resumes after it) and the rejected
-- records with their line numbers.

CREATE TABLE user_external_ids (
    tenant_id   TEXT NOT NULL,
    external_id TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    PRIMARY KEY (tenant_id, external_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX user_external_ids_user ON user_external_ids (tenant_id, user_id);

CREATE TABLE import_jobs (
    tenant_id   TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT    NOT NULL,
    format      TEXT    NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    digest      TEXT    NOT NULL DEFAULT '',
    on_conflict TEXT    NOT NULL,
    dry_run     INTEGER NOT NULL DEFAULT 0,
    status      TEXT    NOT NULL,
    total       INTEGER NOT NULL DEFAULT 0,
    checkpoint  INTEGER NOT NULL DEFAULT 0,
    created     INTEGER NOT NULL DEFAULT 0,
    updated     INTEGER NOT NULL DEFAULT 0,
    skipped     INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    errors      TEXT    NOT NULL DEFAULT '[]',
    message     TEXT    NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX import_jobs_digest ON import_jobs (tenant_id, digest);
