-- Gatehouse schema, PostgreSQL dialect, version 9: a SAML service provider's
-- default RelayState, the only one an IdP-initiated login carries (the
-- launch URL's query no longer sets it: security review finding 7).

ALTER TABLE saml_sps ADD COLUMN default_relay_state TEXT NOT NULL DEFAULT '';
