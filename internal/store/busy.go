package store

import "errors"

// ErrBusy reports that the database could not take a lock in time: on
// SQLite the write lock within the busy timeout, on PostgreSQL a lock
// timeout, a serialization failure or a deadlock. Nothing was written; the
// same call may succeed when retried. HTTP edges answer it 503 with
// Retry-After, background loops retry it on their next round.
var ErrBusy = errors.New("store: database busy")
