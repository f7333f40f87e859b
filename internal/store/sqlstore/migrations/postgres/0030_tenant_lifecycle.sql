-- Gatehouse schema, PostgreSQL dialect, version 30: tenant lifecycle.
--
-- status is active, suspended or deleted. A deleted tenant keeps its rows
-- until purge_at (microseconds since the epoch), when the purge job removes
-- every row of it; until then it can be restored.

ALTER TABLE tenants ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE tenants ADD COLUMN purge_at BIGINT;
CREATE INDEX tenants_purge ON tenants (purge_at) WHERE purge_at IS NOT NULL;
