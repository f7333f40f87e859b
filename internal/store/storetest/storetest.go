// Package storetest is the conformance suite every store backend runs: the
// contract of package store (see its doc.go), tenant isolation for every
// aggregate, and the concurrency promises of update closures, group
// nesting and the audit chain.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type test struct {
	name string
	fn   func(t *testing.T, s store.Store)
}

// Run runs the suite. open must answer an empty, migrated store that lives
// until t ends; every subtest gets its own. Subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	var all []test
	for _, group := range [][]test{
		tenantTests, userTests, searchTests, groupTests, apiKeyTests, auditTests, signingKeyTests, txTests, oauthTests,
		authzTests,
		selfServiceTests, accountTests,
		samlTests,
		dirFilterTests,
		connectionTests,
		mfaTests,
		loginTests,
		recognitionTests,
		proxyTests,
		noticeTests,
		usageTests,
		ssfTests,
		privacyTests,
		signInTests,
		eventTests,
		provisioningTests,
		riskModelTests,
		profileTests,
		hookTests,
		purposeTests,
		dpopTests,
		rotationTests,
		dashboardTests,
		consoleTests,
		registrationTests,
		clientSecurityTests,
		cibaTests,
		rarTests,
		domainTests,
		revocationTests,
	} {
		all = append(all, group...)
	}
	for _, tc := range all {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, open(t))
		})
	}
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// mkTenant creates a tenant with a unique slug.
func mkTenant(t *testing.T, s store.Repos) store.TenantID {
	t.Helper()
	id := newID()
	tn := &store.Tenant{ID: store.TenantID(id), Slug: "t-" + id, Name: "Tenant " + id}
	if err := s.Tenants().CreateTenant(t.Context(), tn); err != nil {
		t.Fatalf("CreateTenant: %v", err)
	}
	return tn.ID
}

// mkUser creates a user whose email is local@example.com; opts edit it first.
func mkUser(t *testing.T, s store.Repos, tenant store.TenantID, local string, opts ...func(*store.User)) *store.User {
	t.Helper()
	u := &store.User{
		ID:        newID(),
		Tenant:    tenant,
		Email:     local + "@Example.com",
		EmailNorm: local + "@example.com",
		Status:    store.UserActive,
	}
	for _, o := range opts {
		o(u)
	}
	if err := s.Users().CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", local, err)
	}
	return u
}

func mkGroup(t *testing.T, s store.Repos, tenant store.TenantID, name string) *store.Group {
	t.Helper()
	g := &store.Group{ID: newID(), Tenant: tenant, Name: name}
	if err := s.Groups().CreateGroup(t.Context(), g); err != nil {
		t.Fatalf("CreateGroup(%s): %v", name, err)
	}
	return g
}

func addMember(t *testing.T, s store.Repos, tenant store.TenantID, group string, typ store.MemberType, id string) {
	t.Helper()
	if err := s.Groups().AddMember(t.Context(), tenant, group, store.Member{Type: typ, ID: id}); err != nil {
		t.Fatalf("AddMember(%s %s into %s): %v", typ, id, group, err)
	}
}

// wantErr fails unless errors.Is(err, target).
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !isErr(err, target) {
		t.Errorf("%s: got error %v, want %v", what, err, target)
	}
}

func isErr(err, target error) bool {
	if target == nil {
		return err == nil
	}
	return err != nil && errors.Is(err, target)
}

func noErr(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// jsonEqual compares JSON by value: PostgreSQL's JSONB does not keep
// spacing or key order.
func jsonEqual(t *testing.T, what string, got, want []byte) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Errorf("%s: stored JSON %q does not parse: %v", what, got, err)
		return
	}
	if err := json.Unmarshal(want, &w); err != nil {
		t.Fatalf("%s: bad test JSON %q: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: got JSON %s, want %s", what, got, want)
	}
}

// sameUser compares users field by field, JSON by value and times as
// instants in UTC.
func sameUser(t *testing.T, what string, got, want *store.User) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("%s: nil user (got %v, want %v)", what, got, want)
	}
	g, w := *got, *want
	jsonEqual(t, what+": attributes", g.Attributes, w.Attributes)
	g.Attributes, w.Attributes = nil, nil
	sameTime(t, what+": CreatedAt", g.CreatedAt, w.CreatedAt)
	sameTime(t, what+": UpdatedAt", g.UpdatedAt, w.UpdatedAt)
	sameTimePtr(t, what+": LastLoginAt", g.LastLoginAt, w.LastLoginAt)
	g.CreatedAt, g.UpdatedAt, g.LastLoginAt = time.Time{}, time.Time{}, nil
	w.CreatedAt, w.UpdatedAt, w.LastLoginAt = time.Time{}, time.Time{}, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, g, w)
	}
}

func sameTime(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Errorf("%s: got zone %v, want UTC", what, got.Location())
	}
}

func sameTimePtr(t *testing.T, what string, got, want *time.Time) {
	t.Helper()
	switch {
	case got == nil && want == nil:
	case got == nil || want == nil:
		t.Errorf("%s: got %v, want %v", what, got, want)
	default:
		sameTime(t, what, *got, *want)
	}
}

// ids lists the IDs of users or groups.
func userIDs(us []store.User) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.ID)
	}
	return out
}

func groupIDs(gs []store.Group) []string {
	out := []string{}
	for _, g := range gs {
		out = append(out, g.ID)
	}
	return out
}

func sameIDs(t *testing.T, what string, got, want []string) {
	t.Helper()
	if want == nil {
		want = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: got %v, want %v", what, got, want)
	}
}

func sameBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s: got %x, want %x", what, got, want)
	}
}

// errClosure is a closure error the store must hand back unchanged.
var errClosure = fmt.Errorf("storetest: closure refused")

// ctx is a shorthand for the test's context.
func ctx(t *testing.T) context.Context { return t.Context() }
