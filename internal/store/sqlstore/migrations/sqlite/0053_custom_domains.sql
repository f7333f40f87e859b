-- Gatehouse schema, SQLite dialect, version 53: custom domains.
--
-- A tenant may serve its pages and protocols on its own host name
-- (login.acme.com). A domain is registered pending, with a random token
-- the owner proves control with (an HTTP file Gatehouse serves itself, or
-- a DNS TXT record); only a verified domain is ever trusted as a Host. A
-- host name belongs to one tenant of the whole deployment. An uploaded
-- certificate (GATEHOUSE_TLS=files) is kept beside it, its private key
-- sealed with the master key, bound to the host.

CREATE TABLE custom_domains (
    host           TEXT NOT NULL PRIMARY KEY,
    tenant_id      TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    status         TEXT NOT NULL,
    token          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    verified_at    INTEGER NOT NULL DEFAULT 0,
    cert_pem       TEXT NOT NULL DEFAULT '',
    key_sealed     BLOB,
    cert_not_after INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX custom_domains_tenant ON custom_domains (tenant_id, host);
