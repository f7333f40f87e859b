-- Gatehouse schema, SQLite dialect, version 44: the console dashboard's
-- counters, rolled up per tenant per minute. minute is the minute's start
-- in unix seconds. Counters (sign-ins, sign-ups, risk decisions) add up;
-- gauges (metric names starting with 'gauge.': active sessions, users,
-- users with a second factor) are samples that replace the minute's value.
-- Rows older than 90 days are swept.

CREATE TABLE dashboard_counts (
    tenant_id TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    metric    TEXT    NOT NULL,
    minute    INTEGER NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, metric, minute)
);

CREATE INDEX dashboard_counts_minute ON dashboard_counts (minute);
