-- Gatehouse schema, PostgreSQL dialect, version 25: bulk imports.
-- user_external_ids maps the id a user had in the system it came from to
-- the user here, so running one import twice changes nothing. import_jobs
-- records every import (from the CLI or the API): its counts, the last
-- committed record (a crashed run resumes after it) and the rejected
-- records with their line numbers.

CREATE TABLE user_external_ids (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    external_id TEXT COLLATE "C" NOT NULL,
    user_id     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, external_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX user_external_ids_user ON user_external_ids (tenant_id, user_id);

CREATE TABLE import_jobs (
    tenant_id   TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id          TEXT COLLATE "C" NOT NULL,
    format      TEXT    NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    digest      TEXT    NOT NULL DEFAULT '',
    on_conflict TEXT    NOT NULL,
    dry_run     BOOLEAN NOT NULL DEFAULT FALSE,
    status      TEXT    NOT NULL,
    total       BIGINT  NOT NULL DEFAULT 0,
    checkpoint  BIGINT  NOT NULL DEFAULT 0,
    created     BIGINT  NOT NULL DEFAULT 0,
    updated     BIGINT  NOT NULL DEFAULT 0,
    skipped     BIGINT  NOT NULL DEFAULT 0,
    failed      BIGINT  NOT NULL DEFAULT 0,
    errors      TEXT    NOT NULL DEFAULT '[]',
    message     TEXT    NOT NULL DEFAULT '',
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX import_jobs_digest ON import_jobs (tenant_id, digest);
