-- Gatehouse schema, SQLite dialect, version 55: the global tenant
-- catalogue of a deployment split into regions (docs/regions.md).
--
-- One row per tenant of every region, in the catalogue database
-- (GATEHOUSE_DB): which region's database holds the tenant's rows, so a
-- node of another region redirects or proxies its requests there. It holds
-- no personal data: the slug, the id, the region, the custom domains (a
-- JSON array of host names) and the plan's name. It has no tenant_id
-- column on purpose: a tenant's export, import and purge never touch it.
-- Regions need PostgreSQL; on SQLite the table exists so both dialects
-- keep one schema, and stays empty.

CREATE TABLE tenant_catalogue (
    id         TEXT NOT NULL PRIMARY KEY,
    slug       TEXT NOT NULL UNIQUE,
    region     TEXT NOT NULL,
    domains    TEXT NOT NULL DEFAULT '[]',
    plan       TEXT NOT NULL DEFAULT '',
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX tenant_catalogue_region ON tenant_catalogue (region);
