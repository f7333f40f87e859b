// Package store defines Gatehouse's domain records and the storage
// interfaces every service uses, one interface per aggregate.
//
// Contract shared by every backend (proved by package storetest):
//   - The tenant is an explicit parameter of every call that reads or writes
//     tenant data; a record written under tenant A is invisible under B
//     (reads answer ErrNotFound, lists leave it out, writes fail with
//     ErrNotFound).
//   - Missing records answer ErrNotFound; unique-key clashes answer
//     ErrConflict; a read-modify-write whose closure reports a stale
//     version answers ErrPrecondition. Errors are wrapped, so test them
//     with errors.Is. No error carries SQL text meant for clients.
//   - Update methods take a closure: the backend reads the record inside a
//     transaction that holds it against concurrent writers, calls fn once
//     with a copy, and writes the result with Version+1. If fn returns an
//     error nothing is written and that error is returned unchanged.
//   - Store.InTx runs several calls atomically (a change and its audit
//     entry). The Tx passed to fn must not be used after fn returns.
package store
