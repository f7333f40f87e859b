package store

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/store/scimfilter"
)

// ErrBadFilter: a SCIM filter or sortBy names an attribute the store cannot
// filter on, or compares it with a value of the wrong type. Backends wrap it
// with a message fit for the client (no SQL).
var ErrBadFilter = errors.New("store: unsupported filter")

// SCIMQuery is a SCIM list request (RFC 7644 3.4.2), answered by the
// database: the filter becomes SQL with bound parameters.
type SCIMQuery struct {
	// Filter is nil to match everything.
	Filter scimfilter.Expr
	// SortBy names the sort attribute; the zero Path sorts by id.
	SortBy     scimfilter.Path
	Descending bool
	// Offset is 0-based (SCIM's startIndex - 1); Limit is clamped to
	// 0..1000, and 0 answers only the total.
	Offset int
	Limit  int
}

// SCIMUsers is the SCIM view of the Users aggregate; sqlstore's user repo
// implements it.
type SCIMUsers interface {
	// FilterUsers answers one page of the users matching q and how many
	// match in all. ErrBadFilter for a filter the store cannot translate.
	FilterUsers(ctx context.Context, tenant TenantID, q SCIMQuery) ([]User, int64, error)
}

// SCIMGroups is the SCIM view of the Groups aggregate.
type SCIMGroups interface {
	// FilterGroups is FilterUsers for groups.
	FilterGroups(ctx context.Context, tenant TenantID, q SCIMQuery) ([]Group, int64, error)
}
