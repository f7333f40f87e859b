-- Gatehouse schema, PostgreSQL dialect, version 28: plans and usage metering.
--
-- plans are platform records; tenant_plans puts a tenant on one (no row:
-- unlimited). usage_active_users holds one row per tenant, month (YYYY-MM,
-- UTC) and user with a successful authentication: its key makes the
-- monthly active user count exact under retries and concurrent nodes.
-- usage_counters adds per-month deltas; usage_thresholds remembers which
-- limit percentages were already reported in a month.

CREATE TABLE plans (
    name       TEXT COLLATE "C" PRIMARY KEY,
    limits     TEXT NOT NULL,
    overage    TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE tenant_plans (
    tenant_id TEXT COLLATE "C" PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    plan_name TEXT COLLATE "C" NOT NULL REFERENCES plans (name)
);

CREATE INDEX tenant_plans_plan ON tenant_plans (plan_name);

CREATE TABLE usage_active_users (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month     TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (tenant_id, month, user_id)
);

CREATE INDEX usage_active_users_month ON usage_active_users (month, tenant_id);

CREATE TABLE usage_counters (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month     TEXT COLLATE "C" NOT NULL,
    metric    TEXT COLLATE "C" NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, month, metric)
);

CREATE INDEX usage_counters_month ON usage_counters (month);

CREATE TABLE usage_thresholds (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month      TEXT COLLATE "C" NOT NULL,
    limit_name TEXT COLLATE "C" NOT NULL,
    percent    BIGINT NOT NULL,
    at         BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, month, limit_name, percent)
);
