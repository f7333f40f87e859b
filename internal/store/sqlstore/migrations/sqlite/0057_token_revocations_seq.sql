-- Gatehouse schema, SQLite dialect, version 57: token_revocations gets a
-- seq that grows in commit order and is never reused (AUTOINCREMENT;
-- SQLite writes one transaction at a time), so a node can read the rows
-- written since it last looked, by any process on the file, and keep the
-- table in memory (the store's revocation memory). The table is rebuilt:
-- SQLite cannot add such a column in place.
CREATE TABLE token_revocations_new (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  TEXT    NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    client_id  TEXT    NOT NULL DEFAULT '',
    revoked_at INTEGER NOT NULL,
    not_after  INTEGER,
    expires_at INTEGER NOT NULL
) STRICT;
INSERT INTO token_revocations_new (tenant_id, kind, subject, client_id, revoked_at, not_after, expires_at)
SELECT tenant_id, kind, subject, client_id, revoked_at, not_after, expires_at FROM token_revocations ORDER BY rowid;
DROP TABLE token_revocations;
ALTER TABLE token_revocations_new RENAME TO token_revocations;
CREATE INDEX token_revocations_subject ON token_revocations (tenant_id, subject);
CREATE INDEX token_revocations_expires ON token_revocations (expires_at);
