-- Gatehouse schema, SQLite dialect, version 49: mutual-TLS client
-- authentication and certificate-bound tokens (RFC 8705), and the security
-- profile (FAPI 2.0) of a client, as one JSON document (store.ClientSecurity).

ALTER TABLE clients ADD COLUMN security TEXT NOT NULL DEFAULT '{}';
