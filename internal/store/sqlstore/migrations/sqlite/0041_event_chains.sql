-- Gatehouse schema, SQLite dialect, version 41: the head of each delivery
-- chain.
--
-- A chain is one (sink, endpoint_id, user_key) of event_deliveries; its
-- deliveries go out one after the other in seq order. event_chains holds,
-- for every chain with an unfinished delivery (pending, failed or
-- sending), the seq of the oldest one: the only delivery of the chain a
-- claim may take. A chain with nothing unfinished has no row. The store
-- keeps it in step when deliveries are inserted, finish (delivered or
-- dead), are retried or are deleted with their endpoint, so a claim reads
-- heads only instead of testing every open delivery for an older one.

CREATE TABLE event_chains (
    sink        TEXT NOT NULL,
    endpoint_id TEXT NOT NULL DEFAULT '',
    user_key    TEXT NOT NULL DEFAULT '',
    head_seq    INTEGER NOT NULL,
    PRIMARY KEY (sink, endpoint_id, user_key)
);
CREATE UNIQUE INDEX event_chains_head ON event_chains (head_seq);

INSERT INTO event_chains (sink, endpoint_id, user_key, head_seq)
SELECT sink, endpoint_id, user_key, MIN(seq) FROM event_deliveries
WHERE state IN ('pending', 'failed', 'sending')
GROUP BY sink, endpoint_id, user_key;
