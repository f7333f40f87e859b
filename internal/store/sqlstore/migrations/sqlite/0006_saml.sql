-- Gatehouse schema, SQLite dialect, version 6: the SAML identity provider.
--
-- Conventions as in versions 1 and 2. A service provider's pending
-- requests and session participations go with it; participations also go
-- with their session. (tenant_id, sp_id, request_id) is unique for every
-- non-empty request id, used or expired, so an AuthnRequest ID is accepted
-- once per service provider.

CREATE TABLE saml_sps (
    tenant_id         TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                TEXT    NOT NULL,
    name              TEXT    NOT NULL DEFAULT '',
    entity_id         TEXT    NOT NULL,
    acs               TEXT    NOT NULL DEFAULT '[]',
    slo_url           TEXT    NOT NULL DEFAULT '',
    slo_binding       TEXT    NOT NULL DEFAULT '',
    certificate       TEXT    NOT NULL DEFAULT '',
    name_id_format    TEXT    NOT NULL DEFAULT '',
    attribute_mapping TEXT    NOT NULL DEFAULT '{}',
    sign_assertion    INTEGER NOT NULL DEFAULT 1,
    sign_response     INTEGER NOT NULL DEFAULT 1,
    encrypt_assertion INTEGER NOT NULL DEFAULT 0,
    requests_signed   INTEGER NOT NULL DEFAULT 0,
    version           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, entity_id)
) STRICT;

CREATE TABLE saml_requests (
    tenant_id                TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                       TEXT    NOT NULL,
    sp_id                    TEXT    NOT NULL,
    request_id               TEXT    NOT NULL DEFAULT '',
    acs_url                  TEXT    NOT NULL,
    acs_binding              TEXT    NOT NULL,
    relay_state              TEXT    NOT NULL DEFAULT '',
    force_authn              INTEGER NOT NULL DEFAULT 0,
    is_passive               INTEGER NOT NULL DEFAULT 0,
    authn_context            TEXT    NOT NULL DEFAULT '[]',
    authn_context_comparison TEXT    NOT NULL DEFAULT '',
    name_id_format           TEXT    NOT NULL DEFAULT '',
    used                     INTEGER NOT NULL DEFAULT 0,
    created_at               INTEGER NOT NULL,
    expires_at               INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, sp_id) REFERENCES saml_sps (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE UNIQUE INDEX saml_requests_request_id ON saml_requests (tenant_id, sp_id, request_id) WHERE request_id <> '';
CREATE INDEX saml_requests_sp ON saml_requests (tenant_id, sp_id);
CREATE INDEX saml_requests_expires ON saml_requests (expires_at);

CREATE TABLE saml_participants (
    tenant_id      TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id     TEXT    NOT NULL,
    sp_id          TEXT    NOT NULL,
    name_id        TEXT    NOT NULL,
    name_id_format TEXT    NOT NULL DEFAULT '',
    session_index  TEXT    NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, session_id, sp_id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sp_id) REFERENCES saml_sps (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX saml_participants_name_id ON saml_participants (tenant_id, sp_id, name_id);
