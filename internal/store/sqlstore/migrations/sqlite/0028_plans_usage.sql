-- Gatehouse schema, SQLite dialect, version 28: plans and usage metering.
--
-- plans are platform records; tenant_plans puts a tenant on one (no row:
-- unlimited). usage_active_users holds one row per tenant, month (YYYY-MM,
-- UTC) and user with a successful authentication: its key makes the
-- monthly active user count exact under retries and concurrent nodes.
-- usage_counters adds per-month deltas; usage_thresholds remembers which
-- limit percentages were already reported in a month.

CREATE TABLE plans (
    name       TEXT PRIMARY KEY,
    limits     TEXT NOT NULL,
    overage    TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE tenant_plans (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    plan_name TEXT NOT NULL REFERENCES plans (name)
) STRICT;

CREATE INDEX tenant_plans_plan ON tenant_plans (plan_name);

CREATE TABLE usage_active_users (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month     TEXT NOT NULL,
    user_id   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, month, user_id)
) STRICT;

CREATE INDEX usage_active_users_month ON usage_active_users (month, tenant_id);

CREATE TABLE usage_counters (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month     TEXT NOT NULL,
    metric    TEXT NOT NULL,
    n         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, month, metric)
) STRICT;

CREATE INDEX usage_counters_month ON usage_counters (month);

CREATE TABLE usage_thresholds (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month      TEXT NOT NULL,
    limit_name TEXT NOT NULL,
    percent    INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, month, limit_name, percent)
) STRICT;
