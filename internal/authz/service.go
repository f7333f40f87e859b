// Package authz is authorization: roles (named sets of permission strings,
// optionally of one application) assigned to users and groups, effective
// through nested groups; the check that answers whether a user holds a
// permission and why; just-in-time elevation to privileged roles with
// approval or MFA step-up; break-glass accounts whose every use alerts;
// and access review campaigns. Every change is audited through
// internal/events in the transaction that makes it. It knows nothing of
// HTTP: the API, the OpenID provider and (later) SAML and the account page
// call it.
package authz

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Service is the authorization of every tenant.
type Service struct {
	Store store.Store
	Audit *events.Recorder
	Log   *slog.Logger
	// Now is the clock; elevations start and expire by it.
	Now func() time.Time
}

func (s *Service) now() time.Time { return s.Now().UTC().Truncate(time.Microsecond) }

func (s *Service) log() *slog.Logger {
	if s.Log == nil {
		return slog.Default()
	}
	return s.Log
}

// Refused is a request that was well formed but that policy does not
// allow: self-approval, an approver not named by the role, an elevation
// without eligibility or without a fresh MFA step-up, a decision past the
// review's deadline. Nothing was changed. Code is stable for programs.
type Refused struct {
	Code    string
	Message string
	// Conflict marks refusals about the record's state (already decided,
	// deadline passed) rather than about who asks.
	Conflict bool
}

func (e *Refused) Error() string { return "authz: refused: " + e.Message }

func refuse(code, msg string) error { return &Refused{Code: code, Message: msg} }

func conflict(code, msg string) error { return &Refused{Code: code, Message: msg, Conflict: true} }

// Bounds of what is stored.
const (
	maxRoleName     = 100
	maxDescription  = 1000
	maxPermissions  = 200
	maxApprovers    = 50
	maxReason       = 500
	maxLongestGrant = 7 * 24 * time.Hour
	defaultMaxGrant = 8 * time.Hour
	maxReviewItems  = 10000
	maxReviewers    = 50
	maxCheckBatch   = 100
	stepUpMaxAge    = 5 * time.Minute
	// pendingMaxAge: a request not decided within a day goes stale and
	// must be made again (the reason may no longer hold).
	pendingMaxAge    = 24 * time.Hour
	maxCampaignName  = 200
	maxDecisionNote  = 1000
	maxPermissionLen = 128
)

var (
	permissionRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.:/*-]{0,127}$`)
	// roleNameRE is a role name's characters; validRoleName bounds its
	// length apart: a counted repetition ({0,99}) of these Unicode
	// classes compiles to a program of megabytes, kept for the process's
	// life.
	roleNameRE = regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N} _.:/-]*$`)
	idRE       = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// validRoleName reports whether s is 1 to maxRoleName letters, digits,
// spaces or _ . : / -, starting with a letter, digit or _.
func validRoleName(s string) bool {
	return utf8.RuneCountInString(s) <= maxRoleName && roleNameRE.MatchString(s)
}

// hasMFA reports whether amr shows a multi-factor login: the flow adds
// "mfa" after a second factor. A method alone does not count ("hwk" is
// also a passkey without user verification, one factor).
func hasMFA(amr []string) bool { return mfa.Satisfied(amr) }

func newID() string {
	id, err := uuid.NewV7()
	if err != nil {
		panic(fmt.Sprintf("authz: uuid: %v", err)) // only when crypto/rand fails
	}
	return id.String()
}

func checkText(c *valid.Collector, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		c.Add(field, "too_long", fmt.Sprintf("%s is at most %d characters.", field, max))
		return
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		c.Add(field, "invalid", field+" contains control characters.")
	}
}

// parseDuration reads a Go duration ("8h", "90m") within (0, max].
func parseDuration(c *valid.Collector, field, s string, max time.Duration) time.Duration {
	d, err := time.ParseDuration(s)
	switch {
	case err != nil:
		c.Add(field, "invalid", field+` is a duration such as "8h" or "90m".`)
	case d <= 0 || d > max:
		c.Add(field, "out_of_range", fmt.Sprintf("%s is more than 0 and at most %s.", field, max))
	case d%time.Second != 0:
		c.Add(field, "invalid", field+" is a whole number of seconds.")
	default:
		return d
	}
	return 0
}

// record appends an audit entry through repos (the change's transaction).
func (s *Service) record(ctx context.Context, repos store.Repos, actor events.Actor, tenant store.TenantID,
	action, targetType, targetID string, changes events.Changes) error {
	return s.Audit.Record(ctx, repos, actor, events.Entry{Tenant: tenant, Action: action,
		TargetType: targetType, TargetID: targetID, Changes: changes})
}

func ifMatch(want, have int64) error {
	if want != 0 && want != have {
		return store.ErrPrecondition
	}
	return nil
}
