-- Gatehouse schema, SQLite dialect, version 21: attribute-release consent
-- for SAML service providers. A provider with consent_required asks the
-- user (through the login's consent step) before its first assertion and
-- again when it would receive an attribute the user has not approved;
-- saml_consents records what the user approved per provider. Grants go
-- with the user and with the provider.

ALTER TABLE saml_sps ADD COLUMN consent_required INTEGER NOT NULL DEFAULT 0;

CREATE TABLE saml_consents (
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    TEXT    NOT NULL,
    sp_id      TEXT    NOT NULL,
    attributes TEXT    NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, user_id, sp_id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sp_id) REFERENCES saml_sps (tenant_id, id) ON DELETE CASCADE
) STRICT, WITHOUT ROWID;
CREATE INDEX saml_consents_sp ON saml_consents (tenant_id, sp_id);
