-- Gatehouse schema, PostgreSQL dialect, version 19: the source of an authorization request.
--
-- source is the client's network (an IPv4 address, an IPv6 /64) that
-- started the request; the provider bounds the live requests per source
-- (an unauthenticated caller creates them) with the partial index below.

ALTER TABLE auth_requests ADD COLUMN source TEXT NOT NULL DEFAULT '';

CREATE INDEX auth_requests_source ON auth_requests (tenant_id, source, expires_at) WHERE NOT done AND source <> '';
