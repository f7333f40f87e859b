package directory_test

import (
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// testParams keep hashing cheap; tests that need the hash to dominate pick
// their own.
var testParams = credential.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

// clock is an injected clock tests move forward by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is the services of one deployment, built as internal/server/app.go
// builds them.
type env struct {
	s       store.Store
	clock   *clock
	tenants *tenancy.Service
	dir     *directory.Service
}

func newEnv(t *testing.T, s store.Store) *env {
	return newEnvParams(t, s, testParams)
}

func newEnvParams(t *testing.T, s store.Store, p credential.Params) *env {
	t.Helper()
	key, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := credential.NewHasher(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{t: time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)}
	rec := &events.Recorder{Now: clk.Now}
	return &env{
		s: s, clock: clk,
		tenants: &tenancy.Service{Store: s, Keys: &keys.Manager{Sealer: sealer, Now: clk.Now}, Audit: rec, Now: clk.Now},
		dir:     &directory.Service{Store: s, Hasher: hasher, Audit: rec, Now: clk.Now},
	}
}

var admin = events.Actor{Type: "cli", ID: "tester", RequestID: "req-1"}

func (e *env) tenant(t *testing.T, slug string) store.TenantID {
	t.Helper()
	tn, err := e.tenants.CreateTenant(t.Context(), admin, tenancy.NewTenant{Slug: slug, Name: slug})
	if err != nil {
		t.Fatalf("CreateTenant(%s): %v", slug, err)
	}
	return tn.ID
}

func (e *env) user(t *testing.T, tenant store.TenantID, in directory.NewUser) *store.User {
	t.Helper()
	u, err := e.dir.CreateUser(t.Context(), admin, tenant, in)
	if err != nil {
		t.Fatalf("CreateUser(%s): %v", in.Email, err)
	}
	return u
}

func (e *env) audit(t *testing.T, tenant store.TenantID) []store.AuditEntry {
	t.Helper()
	var es []store.AuditEntry
	if err := e.s.Audit().ScanAudit(t.Context(), tenant, func(a store.AuditEntry) error {
		es = append(es, a)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return es
}

// wantField fails unless err is a *valid.Error naming field.
func wantField(t *testing.T, err error, field string) {
	t.Helper()
	var ve *valid.Error
	if !errors.As(err, &ve) {
		t.Fatalf("error %v (%T), want *valid.Error on %s", err, err, field)
	}
	for _, f := range ve.Fields {
		if f.Field == field {
			return
		}
	}
	t.Fatalf("error %v names %+v, want %s", err, ve.Fields, field)
}

// wantConflict fails unless err is a *valid.Conflict on field that wraps
// store.ErrConflict.
func wantConflict(t *testing.T, err error, field string) {
	t.Helper()
	var ce *valid.Conflict
	if !errors.As(err, &ce) || ce.Field != field || !errors.Is(err, store.ErrConflict) {
		t.Fatalf("error %v (%T), want *valid.Conflict on %s wrapping store.ErrConflict", err, err, field)
	}
}

func ptr[T any](v T) *T { return &v }

// attrs decodes a user's attributes keeping numbers exact.
func attrs(t *testing.T, raw json.RawMessage) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("attributes %s: %v", raw, err)
	}
	return m
}

func actions(es []store.AuditEntry) []string {
	var as []string
	for _, e := range es {
		as = append(as, e.Action)
	}
	return as
}

func sortedIDs[T any](xs []T, id func(T) string) []string {
	var ids []string
	for _, x := range xs {
		ids = append(ids, id(x))
	}
	slices.Sort(ids)
	return ids
}
