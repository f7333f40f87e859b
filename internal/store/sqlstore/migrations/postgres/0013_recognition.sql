-- Gatehouse schema, PostgreSQL dialect, version 13: recognised login sources.
--
-- known_devices are the browsers a user signed in from (the device cookie:
-- the browser holds the id and an HMAC over tenant, user and id made with a
-- key derived from the master key; this table holds no secret). A login
-- from a known device is let through the per-account throttle.
-- known_networks are the source networks (an IPv4 address, an IPv6 /64) a
-- user signed in from, for the same purpose. Both are forgotten with the
-- user, or on demand (a password reset, "forget my devices").

CREATE TABLE known_devices (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT  NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    expires_at   BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX known_devices_user ON known_devices (tenant_id, user_id, last_seen_at);
CREATE INDEX known_devices_expires ON known_devices (expires_at);

CREATE TABLE known_networks (
    tenant_id    TEXT COLLATE "C" NOT NULL,
    user_id      TEXT COLLATE "C" NOT NULL,
    network      TEXT COLLATE "C" NOT NULL,
    last_seen_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant_id, user_id, network),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);
