-- Gatehouse schema, SQLite dialect, version 48: rich authorization requests (RFC 9396).
-- A tenant registers the authorization details types its clients may ask
-- for, each with the JSON Schema its objects must meet. The details of an
-- authorization request are kept under the request's id, which is also
-- the id of the token family its code starts, so the tokens of the family
-- carry them; approved is set on the consent page.

CREATE TABLE authorization_detail_types (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    schema      TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, type)
) STRICT;

CREATE TABLE authorization_details (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    owner_id   TEXT NOT NULL,
    details    TEXT NOT NULL,
    approved   INTEGER NOT NULL DEFAULT 0,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, owner_id)
) STRICT;
CREATE INDEX authorization_details_expires ON authorization_details (expires_at);
