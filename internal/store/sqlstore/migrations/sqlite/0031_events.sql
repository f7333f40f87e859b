-- Gatehouse schema, SQLite dialect, version 31: the event outbox,
-- webhook endpoints, deliveries and their attempts.
--
-- events rows are written in the transaction of the change they describe;
-- the dispatcher fans each out into event_deliveries (one per subscribed
-- webhook endpoint and registered sink) and marks it dispatched. Times are
-- microseconds since the epoch. events.tenant_id has no foreign key: events
-- about tenant management itself belong to the platform (_platform).

CREATE TABLE events (
    id         TEXT NOT NULL PRIMARY KEY,
    tenant_id  TEXT NOT NULL,
    type       TEXT NOT NULL,
    user_id    TEXT NOT NULL DEFAULT '',
    data       TEXT   NOT NULL,
    created_at INTEGER NOT NULL,
    dispatched INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX events_undispatched ON events (id) WHERE dispatched = 0;
CREATE INDEX events_tenant ON events (tenant_id, id);
CREATE INDEX events_user ON events (tenant_id, user_id);
CREATE INDEX events_created ON events (created_at);

CREATE TABLE webhooks (
    id              TEXT NOT NULL PRIMARY KEY,
    tenant_id       TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    url             TEXT   NOT NULL,
    description     TEXT   NOT NULL DEFAULT '',
    event_types     TEXT   NOT NULL,
    secret          BLOB  NOT NULL,
    prev_secret     BLOB,
    prev_until      INTEGER,
    disabled_at     INTEGER,
    disabled_reason TEXT   NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
) STRICT;
CREATE INDEX webhooks_tenant ON webhooks (tenant_id, id);

-- seq orders each chain (sink, endpoint_id, user_key): the dispatcher
-- numbers deliveries under a lock, so seq is the order events were
-- dispatched in, on every node.
CREATE TABLE event_deliveries (
    id              TEXT NOT NULL PRIMARY KEY,
    seq             INTEGER NOT NULL UNIQUE,
    tenant_id       TEXT NOT NULL,
    event_id        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    sink            TEXT NOT NULL,
    endpoint_id     TEXT NOT NULL DEFAULT '',
    user_key        TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT   NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX event_deliveries_due ON event_deliveries (next_attempt_at)
    WHERE state IN ('pending', 'failed', 'sending');
CREATE INDEX event_deliveries_chain ON event_deliveries (sink, endpoint_id, user_key, seq)
    WHERE state IN ('pending', 'failed', 'sending');
CREATE INDEX event_deliveries_endpoint ON event_deliveries (tenant_id, endpoint_id, id);
CREATE INDEX event_deliveries_event ON event_deliveries (event_id);

CREATE TABLE event_attempts (
    delivery_id TEXT NOT NULL REFERENCES event_deliveries (id) ON DELETE CASCADE,
    tenant_id   TEXT NOT NULL,
    at          INTEGER  NOT NULL,
    status_code INTEGER NOT NULL,
    latency_ms  INTEGER  NOT NULL,
    error       TEXT    NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX event_attempts_delivery ON event_attempts (delivery_id, at);
