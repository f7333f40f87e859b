-- Gatehouse schema, PostgreSQL dialect, version 37: the risk engine's sign-in history.
--
-- risk_sign_ins are a user's completed sign-ins (at most 50 per user, the
-- oldest trimmed): when, the source network (/24 or /48), the approximate
-- place from the GeoIP database (coordinates in millionths of a degree),
-- the autonomous system, the known device and the user agent. Familiarity
-- and impossible travel are judged against them; the account page lists
-- them. They go with the user.

CREATE TABLE risk_sign_ins (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    id         TEXT COLLATE "C" NOT NULL,
    user_id    TEXT COLLATE "C" NOT NULL,
    at         BIGINT NOT NULL,
    network    TEXT NOT NULL,
    country    TEXT NOT NULL,
    city       TEXT NOT NULL,
    lat_e6     BIGINT NOT NULL,
    lon_e6     BIGINT NOT NULL,
    has_geo    BIGINT NOT NULL,
    asn        BIGINT NOT NULL,
    device_id  TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX risk_sign_ins_user ON risk_sign_ins (tenant_id, user_id, at);
