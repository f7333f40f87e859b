-- Gatehouse schema, PostgreSQL dialect, version 47: OpenID CIBA (backchannel
-- authentication) and JAR (RFC 9101).
-- Clients carry the CIBA metadata and whether their authorization requests
-- must be signed request objects. A CIBA request is found by the hash of
-- its auth_req_id (the client's polls) or of its approval link's secret
-- (the mailed link); user_id is NULL when the hint named nobody.

ALTER TABLE clients ADD COLUMN backchannel_token_delivery_mode TEXT NOT NULL DEFAULT ''
    CHECK (backchannel_token_delivery_mode IN ('', 'poll', 'ping'));
ALTER TABLE clients ADD COLUMN backchannel_client_notification_endpoint TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_user_code_parameter BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE clients ADD COLUMN require_signed_request_object BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE ciba_requests (
    tenant_id          TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    id                 TEXT COLLATE "C" NOT NULL,
    auth_req_hash      BYTEA   NOT NULL,
    approval_hash      BYTEA   NOT NULL,
    client_id          TEXT COLLATE "C" NOT NULL,
    user_id            TEXT COLLATE "C",
    scopes             TEXT    NOT NULL DEFAULT '[]',
    acr_values         TEXT    NOT NULL DEFAULT '[]',
    binding_message    TEXT    NOT NULL DEFAULT '',
    notification_token BYTEA,
    state              TEXT    NOT NULL CHECK (state IN ('pending', 'approved', 'denied')),
    session_id         TEXT COLLATE "C" NOT NULL DEFAULT '',
    auth_time          BIGINT,
    amr                TEXT    NOT NULL DEFAULT '[]',
    last_poll          BIGINT,
    done               BOOLEAN NOT NULL DEFAULT FALSE,
    created_at         BIGINT  NOT NULL,
    expires_at         BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, auth_req_hash),
    UNIQUE (tenant_id, approval_hash),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX ciba_requests_expires ON ciba_requests (expires_at);
CREATE INDEX ciba_requests_client ON ciba_requests (tenant_id, client_id);
CREATE INDEX ciba_requests_user ON ciba_requests (tenant_id, user_id) WHERE user_id IS NOT NULL;
