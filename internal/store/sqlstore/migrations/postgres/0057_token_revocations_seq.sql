-- Gatehouse schema, PostgreSQL dialect, version 57: nothing to change.
-- SQLite's token_revocations gets a seq at this version; on PostgreSQL
-- the nodes hear of new revocations by NOTIFY instead (the store's
-- revocation memory).
SELECT 1;
