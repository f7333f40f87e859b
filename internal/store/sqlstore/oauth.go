package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"hash/fnv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// oauthRepos are the OpenID provider's aggregates, bound to the same scope
// (pool or InTx transaction) as the directory's.
type oauthRepos struct{ *scope }

var _ store.OAuthRepos = oauthRepos{}

func (s *scope) OAuth() store.OAuthRepos { return oauthRepos{s} }

func (o oauthRepos) Clients() store.Clients           { return clientRepo{o.scope} }
func (o oauthRepos) AuthRequests() store.AuthRequests { return authRequestRepo{o.scope} }
func (o oauthRepos) Tokens() store.Tokens             { return tokenRepo{o.scope} }
func (o oauthRepos) Sessions() store.Sessions         { return sessionRepo{o.scope} }
func (o oauthRepos) Throttle() store.Throttle         { return throttleRepo{o.scope} }
func (o oauthRepos) Recognition() store.Recognition   { return recognitionRepo{o.scope} }
func (o oauthRepos) Consents() store.Consents         { return consentRepo{o.scope} }
func (o oauthRepos) DeviceCodes() store.DeviceCodes   { return deviceCodeRepo{o.scope} }
func (o oauthRepos) Registrations() store.Registrations {
	return registrationRepo{o.scope} // registrations.go
}
func (o oauthRepos) CIBA() store.CIBARequests { return cibaRepo{o.scope} }
func (o oauthRepos) AuthorizationDetails() store.AuthorizationDetails {
	return rarRepo{o.scope}
}

// scanner is a *sql.Row or *sql.Rows.
type scanner = interface{ Scan(...any) error }

// listJSON stores a list of strings as a JSON array ("[]" when empty).
func listJSON(l []string) string { return scopesJSON(l) }

// parseList reads a stored list; an empty list reads back as nil, so
// records compare equal whether they were written with nil or [].
func parseList(raw string, dst *[]string) error {
	var l []string
	if err := json.Unmarshal([]byte(raw), &l); err != nil {
		return err
	}
	*dst = normList(l)
	return nil
}

// normList is l as it reads back: nil when empty, else a copy.
func normList(l []string) []string {
	if len(l) == 0 {
		return nil
	}
	return append([]string(nil), l...)
}

// nullTime stores a time whose zero value means unset as NULL.
func nullTime(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

// timeOrZero reads a nullable time column into a time whose zero value
// means unset.
func timeOrZero(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// microOrZero normalises a time whose zero value means unset.
func microOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return micro(t)
}

// nullBytes stores an empty byte slice as NULL (an unset hash).
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// bytesOrNil is b as nullBytes stores it and it reads back: nil when empty.
func bytesOrNil(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return cloneBytes(b)
}

// Durations are stored as microseconds too; microDur is the stored value.
func microDur(d time.Duration) time.Duration { return d.Truncate(time.Microsecond) }

func durMicros(d time.Duration) int64 { return d.Microseconds() }

func fromDurMicros(v int64) time.Duration { return time.Duration(v) * time.Microsecond }

// lockFor takes a transaction-scoped PostgreSQL advisory lock named by
// parts, held until the transaction (InTx's, when inside it) ends. It
// serialises writers that a row lock cannot: those that must see rows
// another transaction inserts while they run (see RotateRefreshToken).
// SQLite needs nothing: its immediate transactions already run one at a
// time. Names hash to the lock's 64-bit key; a collision only makes two
// unrelated writers take turns.
func (s *scope) lockFor(ctx context.Context, q querier, parts ...string) error {
	return s.lockAll(ctx, q, parts)
}

// lockQueries take one or two advisory locks, in order (see lockAll).
var lockQueries = [...]string{1: `SELECT pg_advisory_xact_lock($1)`,
	2: `SELECT pg_advisory_xact_lock($1), pg_advisory_xact_lock($2)`}

// lockAll takes the locks of lockFor named by each of names (at most
// two), in that order, in one statement (one round trip): PostgreSQL
// evaluates a SELECT's output columns left to right.
func (s *scope) lockAll(ctx context.Context, q querier, names ...[]string) error {
	if !s.db.d.postgres || len(names) == 0 {
		return nil
	}
	if len(names) >= len(lockQueries) {
		return errors.New("sqlstore: advisory lock: more than two locks in one statement")
	}
	keys := make([]any, len(names))
	for i, parts := range names {
		h := fnv.New64a()
		for _, p := range parts {
			h.Write([]byte(p))
			h.Write([]byte{0})
		}
		keys[i] = int64(h.Sum64())
	}
	if _, err := q.ExecContext(ctx, lockQueries[len(names)], keys...); err != nil {
		return wrapErr("advisory lock", err)
	}
	return nil
}
