-- Gatehouse schema, PostgreSQL dialect, version 6: the SAML identity provider.
--
-- Conventions as in versions 1 and 2. A service provider's pending
-- requests and session participations go with it; participations also go
-- with their session. (tenant_id, sp_id, request_id) is unique for every
-- non-empty request id, used or expired, so an AuthnRequest ID is accepted
-- once per service provider.

CREATE TABLE saml_sps (
    tenant_id         TEXT COLLATE "C"    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                TEXT COLLATE "C"    NOT NULL,
    name              TEXT    NOT NULL DEFAULT '',
    entity_id         TEXT COLLATE "C"    NOT NULL,
    acs               TEXT    NOT NULL DEFAULT '[]',
    slo_url           TEXT    NOT NULL DEFAULT '',
    slo_binding       TEXT    NOT NULL DEFAULT '',
    certificate       TEXT    NOT NULL DEFAULT '',
    name_id_format    TEXT    NOT NULL DEFAULT '',
    attribute_mapping TEXT    NOT NULL DEFAULT '{}',
    sign_assertion    BOOLEAN NOT NULL DEFAULT TRUE ,
    sign_response     BOOLEAN NOT NULL DEFAULT TRUE ,
    encrypt_assertion BOOLEAN NOT NULL DEFAULT FALSE,
    requests_signed   BOOLEAN NOT NULL DEFAULT FALSE,
    version           BIGINT  NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, entity_id)
);

CREATE TABLE saml_requests (
    tenant_id                TEXT COLLATE "C"    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                       TEXT COLLATE "C"    NOT NULL,
    sp_id                    TEXT COLLATE "C"    NOT NULL,
    request_id               TEXT COLLATE "C"    NOT NULL DEFAULT '',
    acs_url                  TEXT    NOT NULL,
    acs_binding              TEXT    NOT NULL,
    relay_state              TEXT    NOT NULL DEFAULT '',
    force_authn              BOOLEAN NOT NULL DEFAULT FALSE,
    is_passive               BOOLEAN NOT NULL DEFAULT FALSE,
    authn_context            TEXT    NOT NULL DEFAULT '[]',
    authn_context_comparison TEXT    NOT NULL DEFAULT '',
    name_id_format           TEXT    NOT NULL DEFAULT '',
    used                     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at               BIGINT  NOT NULL,
    expires_at               BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, sp_id) REFERENCES saml_sps (tenant_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX saml_requests_request_id ON saml_requests (tenant_id, sp_id, request_id) WHERE request_id <> '';
CREATE INDEX saml_requests_sp ON saml_requests (tenant_id, sp_id);
CREATE INDEX saml_requests_expires ON saml_requests (expires_at);

CREATE TABLE saml_participants (
    tenant_id      TEXT COLLATE "C"    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    session_id     TEXT COLLATE "C"    NOT NULL,
    sp_id          TEXT COLLATE "C"    NOT NULL,
    name_id        TEXT    NOT NULL,
    name_id_format TEXT    NOT NULL DEFAULT '',
    session_index  TEXT    NOT NULL DEFAULT '',
    created_at     BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, session_id, sp_id),
    FOREIGN KEY (tenant_id, session_id) REFERENCES sessions (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sp_id) REFERENCES saml_sps (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX saml_participants_name_id ON saml_participants (tenant_id, sp_id, name_id);
