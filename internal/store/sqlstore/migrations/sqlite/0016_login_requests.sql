-- Gatehouse schema, SQLite dialect, version 16: the login flow's own requests.
-- Every way in (OIDC, SAML, device approval, the account page) starts a
-- login request naming its origin and what it needs back; the flow no
-- longer borrows OAuth authorization requests. SAML logins therefore no
-- longer need the inert "gatehouse-saml" client: it goes, with whatever
-- referenced it.

CREATE TABLE login_requests (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id         TEXT NOT NULL,
    origin     TEXT    NOT NULL,
    return_ref TEXT    NOT NULL DEFAULT '',
    client_id  TEXT NOT NULL DEFAULT '',
    sp_id      TEXT NOT NULL DEFAULT '',
    return_uri TEXT    NOT NULL DEFAULT '',
    scopes     TEXT    NOT NULL DEFAULT '[]',
    prompt     TEXT    NOT NULL DEFAULT '[]',
    max_age    INTEGER,
    login_hint TEXT    NOT NULL DEFAULT '',
    ui_locales TEXT    NOT NULL DEFAULT '[]',
    acr_values TEXT    NOT NULL DEFAULT '[]',
    user_id    TEXT,
    session_id TEXT NOT NULL DEFAULT '',
    auth_time  INTEGER,
    amr        TEXT    NOT NULL DEFAULT '[]',
    done       INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER  NOT NULL,
    expires_at INTEGER  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX login_requests_expires ON login_requests (expires_at);
CREATE INDEX login_requests_user ON login_requests (tenant_id, user_id) WHERE user_id IS NOT NULL;

DELETE FROM auth_requests WHERE client_id = 'gatehouse-saml';
DELETE FROM access_tokens WHERE client_id = 'gatehouse-saml';
DELETE FROM refresh_tokens WHERE client_id = 'gatehouse-saml';
DELETE FROM consents WHERE client_id = 'gatehouse-saml';
DELETE FROM device_codes WHERE client_id = 'gatehouse-saml';
DELETE FROM clients WHERE id = 'gatehouse-saml';
