-- Gatehouse schema, PostgreSQL dialect, version 31: the event outbox,
-- webhook endpoints, deliveries and their attempts.
--
-- events rows are written in the transaction of the change they describe;
-- the dispatcher fans each out into event_deliveries (one per subscribed
-- webhook endpoint and registered sink) and marks it dispatched. Times are
-- microseconds since the epoch. events.tenant_id has no foreign key: events
-- about tenant management itself belong to the platform (_platform).

CREATE TABLE events (
    id         TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id  TEXT COLLATE "C" NOT NULL,
    type       TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL DEFAULT '',
    data       TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    dispatched INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX events_undispatched ON events (id) WHERE dispatched = 0;
CREATE INDEX events_tenant ON events (tenant_id, id);
CREATE INDEX events_user ON events (tenant_id, user_id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE webhooks (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    tenant_id       TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url             TEXT   NOT NULL,
    description     TEXT   NOT NULL DEFAULT '',
    event_types     TEXT   NOT NULL,
    secret          BYTEA  NOT NULL,
    prev_secret     BYTEA,
    prev_until      BIGINT,
    disabled_at     BIGINT,
    disabled_reason TEXT   NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

-- seq orders each chain (sink, endpoint_id, user_key): the dispatcher
-- numbers deliveries under a lock, so seq is the order events were
-- dispatched in, on every node.
CREATE TABLE event_deliveries (
    id              TEXT COLLATE "C" NOT NULL PRIMARY KEY,
    seq             BIGINT NOT NULL UNIQUE,
    tenant_id       TEXT COLLATE "C" NOT NULL,
    event_id        TEXT COLLATE "C" NOT NULL,
    event_type      TEXT COLLATE "C" NOT NULL,
    sink            TEXT COLLATE "C" NOT NULL,
    endpoint_id     TEXT COLLATE "C" NOT NULL DEFAULT '',
    user_key        TEXT COLLATE "C" NOT NULL DEFAULT '',
    state           TEXT COLLATE "C" NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_until     BIGINT,
    created_at      BIGINT NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX event_deliveries_due ON event_deliveries (next_attempt_at)
    WHERE state IN ('pending', 'failed', 'sending');
CREATE INDEX event_deliveries_chain ON event_deliveries (sink, endpoint_id, user_key, seq)
    WHERE state IN ('pending', 'failed', 'sending');
CREATE INDEX event_deliveries_endpoint ON event_deliveries (tenant_id, endpoint_id, id);
CREATE INDEX event_deliveries_event ON event_deliveries (event_id);

CREATE TABLE event_attempts (
    delivery_id TEXT COLLATE "C" NOT NULL REFERENCES event_deliveries (id) ON DELETE CASCADE,
    tenant_id   TEXT COLLATE "C" NOT NULL,
    at          BIGINT  NOT NULL,
    status_code INTEGER NOT NULL,
    latency_ms  BIGINT  NOT NULL,
    error       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX event_attempts_delivery ON event_attempts (delivery_id, at);
