-- Gatehouse schema, SQLite dialect, version 32: the Shared Signals
-- transmitter. ssf_streams holds each receiver's stream (push: its
-- endpoint and sealed Authorization header; poll: nothing more);
-- ssf_subjects the subjects a stream asked for, by normalised key
-- ("email:<address>", "iss_sub:<user id>"); ssf_sets the Security Event
-- Tokens queued per stream, one per catalogue event (event_id), kept
-- signed while pending and cleared once delivered or failed.

CREATE TABLE ssf_streams (
    tenant_id        TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               TEXT    NOT NULL,
    audience         TEXT    NOT NULL,
    method           TEXT    NOT NULL,
    endpoint_url     TEXT    NOT NULL DEFAULT '',
    sealed_auth      BLOB,
    events_requested TEXT    NOT NULL DEFAULT '[]',
    events_delivered TEXT    NOT NULL DEFAULT '[]',
    description      TEXT    NOT NULL DEFAULT '',
    status           TEXT    NOT NULL,
    status_reason    TEXT    NOT NULL DEFAULT '',
    version          INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT, WITHOUT ROWID;

CREATE TABLE ssf_subjects (
    tenant_id   TEXT    NOT NULL,
    stream_id   TEXT    NOT NULL,
    subject_key TEXT    NOT NULL,
    subject     TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, stream_id, subject_key),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES ssf_streams (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX ssf_subjects_key ON ssf_subjects (tenant_id, subject_key);

CREATE TABLE ssf_sets (
    tenant_id    TEXT    NOT NULL,
    stream_id    TEXT    NOT NULL,
    jti          TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    token        TEXT    NOT NULL DEFAULT '',
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT    NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    delivered_at INTEGER,
    PRIMARY KEY (tenant_id, stream_id, jti),
    UNIQUE (tenant_id, stream_id, event_id),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES ssf_streams (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX ssf_sets_pending ON ssf_sets (tenant_id, stream_id, created_at) WHERE state = 'pending';
CREATE INDEX ssf_sets_created ON ssf_sets (created_at);
