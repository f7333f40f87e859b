-- Gatehouse schema, PostgreSQL dialect, version 45: token exchange (RFC 8693),
-- dynamic client registration (RFC 7591/7592) and dpop_jkt (RFC 9449 10).
-- A client's token exchange policy (audiences it may ask for, actors it
-- accepts) is a JSON object; a dynamically registered client keeps the hash
-- of its registration access token and the metadata it registered with
-- (CIBA fields among them); an authorization request keeps the DPoP key
-- thumbprint its code is bound to ('' when none).

ALTER TABLE clients ADD COLUMN token_exchange TEXT NOT NULL DEFAULT '{}';
ALTER TABLE auth_requests ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';

CREATE TABLE client_registrations (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    client_id  TEXT COLLATE "C" NOT NULL,
    token_hash BYTEA  NOT NULL,
    metadata   TEXT   NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, client_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id) ON DELETE CASCADE
);
