package store

import "context"

// ProfileSkip is what a user did with one profile field the login asked
// for: how often they skipped it, and at which sign-in (its number) they
// last did.
type ProfileSkip struct {
	N  int `json:"n"`
	At int `json:"at"`
}

// ProfileProgress is a user's progress through progressive profiling:
// how many times they signed in (authenticated: a reused SSO session does
// not count) and the fields they skipped.
type ProfileProgress struct {
	SignIns int
	Skips   map[string]ProfileSkip
}

// Profiles stores users' progressive-profiling progress, one row per user
// (deleted with the user).
type Profiles interface {
	// CountSignIn adds one sign-in of the user and answers the new count,
	// decided in the database (two nodes counting at once both count).
	// ErrNotFound when the user does not exist in tenant.
	CountSignIn(ctx context.Context, tenant TenantID, userID string) (int, error)
	// GetProfileProgress answers the user's progress; a user with none
	// recorded has the zero value (no error).
	GetProfileProgress(ctx context.Context, tenant TenantID, userID string) (ProfileProgress, error)
	// SkipProfileFields records one skip of each named field at the
	// user's current sign-in. ErrNotFound when the user does not exist.
	SkipProfileFields(ctx context.Context, tenant TenantID, userID string, fields []string) error
}
