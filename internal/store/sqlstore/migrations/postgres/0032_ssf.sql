-- Gatehouse schema, PostgreSQL dialect, version 32: the Shared Signals
-- transmitter. ssf_streams holds each receiver's stream (push: its
-- endpoint and sealed Authorization header; poll: nothing more);
-- ssf_subjects the subjects a stream asked for, by normalised key
-- ("email:<address>", "iss_sub:<user id>"); ssf_sets the Security Event
-- Tokens queued per stream, one per catalogue event (event_id), kept
-- signed while pending and cleared once delivered or failed.

CREATE TABLE ssf_streams (
    tenant_id        TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id               TEXT COLLATE "C" NOT NULL,
    audience         TEXT COLLATE "C" NOT NULL,
    method           TEXT COLLATE "C" NOT NULL,
    endpoint_url     TEXT COLLATE "C" NOT NULL DEFAULT '',
    sealed_auth      BYTEA,
    events_requested TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    events_delivered TEXT COLLATE "C" NOT NULL DEFAULT '[]',
    description      TEXT COLLATE "C" NOT NULL DEFAULT '',
    status           TEXT COLLATE "C" NOT NULL,
    status_reason    TEXT COLLATE "C" NOT NULL DEFAULT '',
    version          BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE ssf_subjects (
    tenant_id   TEXT COLLATE "C" NOT NULL,
    stream_id   TEXT COLLATE "C" NOT NULL,
    subject_key TEXT COLLATE "C" NOT NULL,
    subject     TEXT COLLATE "C" NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, stream_id, subject_key),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES ssf_streams (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ssf_subjects_key ON ssf_subjects (tenant_id, subject_key);

CREATE TABLE ssf_sets (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    stream_id    TEXT COLLATE "C" NOT NULL,
    jti          TEXT COLLATE "C" NOT NULL,
    event_id     TEXT COLLATE "C" NOT NULL,
    token        TEXT COLLATE "C" NOT NULL DEFAULT '',
    state        TEXT COLLATE "C" NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    last_error   TEXT COLLATE "C" NOT NULL DEFAULT '',
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT,
    PRIMARY KEY (tenant_id, stream_id, jti),
    UNIQUE (tenant_id, stream_id, event_id),
    FOREIGN KEY (tenant_id, stream_id) REFERENCES ssf_streams (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ssf_sets_pending ON ssf_sets (tenant_id, stream_id, created_at) WHERE state = 'pending';
CREATE INDEX ssf_sets_created ON ssf_sets (created_at);
