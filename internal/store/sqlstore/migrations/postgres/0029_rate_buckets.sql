-- Gatehouse schema, PostgreSQL dialect, version 29: per-tenant rate limits.
--
-- One token bucket per tenant and surface ("api", "token", "scim"), kept
-- as a GCRA theoretical arrival time in Unix microseconds: the bucket is
-- full when tat <= now, and a request is admitted while tat stays within
-- the burst ahead of now.
CREATE TABLE rate_buckets (
    tenant_id TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bucket    TEXT COLLATE "C" NOT NULL,
    tat       BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, bucket)
);
