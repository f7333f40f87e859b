-- Gatehouse schema, PostgreSQL dialect, version 38: the learned risk model.
--
-- risk_observations are assessed logins the model trains on: the signal
-- vector and profile features scored (data, JSON), the score, the decision, and the
-- outcome learned afterwards ('' while unknown: completed, reported,
-- abandoned, blocked, incomplete). They go with the user; at most 50,000
-- per tenant are kept, and none older than the upkeep's horizon.
-- risk_models are a tenant's trained models, versioned (the newest ten
-- kept): the JSON document with features, weights and training figures.

CREATE TABLE risk_observations (
    tenant_id TEXT COLLATE "C" NOT NULL,
    id        TEXT COLLATE "C" NOT NULL,
    user_id   TEXT COLLATE "C" NOT NULL,
    at        BIGINT NOT NULL,
    data      TEXT NOT NULL,
    score     BIGINT NOT NULL,
    decision  TEXT NOT NULL,
    outcome   TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, user_id) REFERENCES users (tenant_id, id) ON DELETE CASCADE
);

CREATE INDEX risk_observations_user ON risk_observations (tenant_id, user_id, at);
CREATE INDEX risk_observations_at ON risk_observations (tenant_id, at);

CREATE TABLE risk_models (
    tenant_id  TEXT COLLATE "C" NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    version    BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    doc        TEXT NOT NULL,
    PRIMARY KEY (tenant_id, version)
);
