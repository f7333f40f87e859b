package store

import "errors"

// Sentinel errors. Backends wrap them; callers test with errors.Is.
var (
	// ErrNotFound: no such record in this tenant.
	ErrNotFound = errors.New("store: not found")
	// ErrConflict: a unique key (email, username, slug, name, membership) is taken.
	ErrConflict = errors.New("store: conflict")
	// ErrPrecondition: an update closure found a version other than the expected one.
	ErrPrecondition = errors.New("store: precondition failed")
	// ErrCycle: adding a group to a group would make a group its own ancestor.
	ErrCycle = errors.New("store: group cycle")
)
