-- Gatehouse schema, PostgreSQL dialect, version 56: keys remembered so that what
-- may be used once is accepted once (store.ReplayCache: a DPoP proof's
-- jti, as 'dpop:{jwk thumbprint}:{jti}'), until expires_at (Unix
-- microseconds). An expired row is taken over by the next claim of its
-- key and deleted by the server's sweep.
--
-- No foreign key: an insert takes no lock on the tenant's row (claims
-- run at the token rate); a purged tenant's rows go with its tenant_id.
-- UNLOGGED: no WAL is written, so a claim costs no flush; PostgreSQL
-- empties the table after a crash and standbys do not have it, which
-- forgets keys of the last minutes (docs/SECURITY.md, DPoP).
CREATE UNLOGGED TABLE replay_keys (
    tenant_id  TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
