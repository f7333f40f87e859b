-- Gatehouse schema, SQLite dialect, version 56: keys remembered so that what
-- may be used once is accepted once (store.ReplayCache: a DPoP proof's
-- jti, as 'dpop:{jwk thumbprint}:{jti}'), until expires_at (Unix
-- microseconds). An expired row is taken over by the next claim of its
-- key and deleted by the server's sweep.
--
-- No foreign key: an insert takes no lock on the tenant's row (claims
-- run at the token rate); a purged tenant's rows go with its tenant_id.
-- The server on SQLite (one node) keeps its DPoP jtis in memory
-- (internal/replay); the table gives this backend the same contract.
CREATE TABLE replay_keys (
    tenant_id  TEXT NOT NULL,
    key        TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, key)
) STRICT, WITHOUT ROWID;
