// Package directory is the tenant directory: users, groups, memberships and
// search, with input validation, password policy and the audit entry of
// every change. It knows nothing of HTTP; the API and CLI call it.
package directory

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/replica"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/google/uuid"
)

// ErrInvalidCredentials is the one answer to a failed password check,
// whatever the reason (no such user, wrong password, disabled, locked).
var ErrInvalidCredentials = errors.New("directory: invalid credentials")

// Service is the directory of every tenant.
type Service struct {
	Store  store.Store
	Hasher *credential.Hasher
	Audit  *events.Recorder
	Now    func() time.Time
	// Breached, when set, refuses passwords found in a breach corpus
	// wherever a password is set (internal/risk's offline check).
	Breached interface {
		Contains(password string) (bool, error)
	}
	// Reads, when set, takes the lists and searches (API, console, SCIM)
	// to a read replica; nil reads Store (reads.go).
	Reads *replica.Reads
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 fails only when crypto/rand does, and then nothing
		// secure can go on.
		panic(fmt.Sprintf("directory: uuid: %v", err))
	}
	return id.String()
}

// policy reads the tenant's password policy.
func (s *Service) policy(ctx context.Context, repos store.Repos, tenant store.TenantID) (credential.Policy, error) {
	t, err := repos.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return credential.Policy{}, err
	}
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil {
		return credential.Policy{}, err
	}
	return set.PasswordPolicy, nil
}

// ifMatch returns store.ErrPrecondition when want is set and differs.
func ifMatch(want, have int64) error {
	if want != 0 && want != have {
		return store.ErrPrecondition
	}
	return nil
}
