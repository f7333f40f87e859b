-- Gatehouse schema, SQLite dialect, version 54: the ACME client's storage.
--
-- With GATEHOUSE_TLS=acme every node keeps the ACME account, the issued
-- certificates and their keys here (not on its own disk), so all nodes
-- share them and one node's issuance serves every node. Keys are
-- certmagic's storage keys ("certificates/<ca>/<host>/<host>.key"); values
-- holding private keys are sealed with the master key by the store's
-- user. Locks are rows with an expiry: a node that dies while holding one
-- loses it when it expires.

CREATE TABLE tls_storage (
    key         TEXT NOT NULL PRIMARY KEY,
    value       BLOB NOT NULL,
    modified_at INTEGER NOT NULL
);

CREATE TABLE tls_locks (
    name       TEXT NOT NULL PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
