package sqlstore_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/scimfilter"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// FuzzSCIMFilter parses arbitrary filter text and runs whatever parses
// against a real SQLite database, for users and groups, sorted by an
// attribute the filter names. A filter either fails to parse
// (scimfilter.ErrSyntax), is refused (store.ErrBadFilter), or runs: any
// other error (an SQL syntax error would be one) or a panic is a finding.
// Run: go test -run '^$' -fuzz FuzzSCIMFilter -fuzztime 5m -parallel 1 ./internal/store/sqlstore/
func FuzzSCIMFilter(f *testing.F) {
	for _, s := range []string{
		`userName eq "bjensen"`, `emails[type eq "work" and value co "@example.com"]`,
		`not (active eq true) or name.familyName sw "J"`, `meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "x"`,
		`members[value eq "x" or type eq "User"]`, `displayName pr and (id ne "a" or emails.primary eq "True")`,
		`title co "%_\\" and userType ge "a"`, `((((userName eq "a"))))`, `emails co "'; DROP TABLE users; --"`,
	} {
		f.Add(s)
	}
	db := sqltest.OpenSQLite(f)
	ctx := context.Background()
	now := time.Now()
	// Rows whose JSON has every shape, so runtime JSON errors would show.
	if err := db.Tenants().CreateTenant(ctx, &store.Tenant{ID: "t", Slug: "t", Name: "t", Settings: []byte("{}"), Version: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
		f.Fatal(err)
	}
	for i, attrs := range []string{`{}`, `{"scim":"x"}`, `{"scim":{"emails":"x","phoneNumbers":[1,"a",null,{"value":2}]}}`,
		`{"scim":{"emails":[{"value":"a@b.c","type":"work","primary":true}],"enterprise":{"manager":{"value":"m"}},"name":[1]}}`} {
		u := store.User{ID: fmt.Sprint(i), Tenant: "t", Email: fmt.Sprintf("u%d@example.com", i), EmailNorm: fmt.Sprintf("u%d@example.com", i),
			Status: store.UserActive, Attributes: []byte(attrs), Version: 1, CreatedAt: now, UpdatedAt: now}
		if err := db.Users().CreateUser(ctx, &u); err != nil {
			f.Fatal(err)
		}
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := scimfilter.Parse(s)
		if err != nil {
			if !errors.Is(err, scimfilter.ErrSyntax) {
				t.Fatalf("Parse(%q): %v does not wrap ErrSyntax", s, err)
			}
			return
		}
		sortBy := firstPath(e)
		q := store.SCIMQuery{Filter: e, SortBy: sortBy, Limit: 5}
		if _, _, err := db.Users().FilterUsers(ctx, "t", q); err != nil && !errors.Is(err, store.ErrBadFilter) {
			t.Fatalf("FilterUsers(%q): %v", s, err)
		}
		if _, _, err := db.Groups().FilterGroups(ctx, "t", q); err != nil && !errors.Is(err, store.ErrBadFilter) {
			t.Fatalf("FilterGroups(%q): %v", s, err)
		}
	})
}

func firstPath(e scimfilter.Expr) scimfilter.Path {
	switch e := e.(type) {
	case *scimfilter.And:
		return firstPath(e.L)
	case *scimfilter.Or:
		return firstPath(e.R)
	case *scimfilter.Not:
		return firstPath(e.X)
	case *scimfilter.Compare:
		return e.Attr
	case *scimfilter.ValuePath:
		return e.Attr
	}
	return scimfilter.Path{}
}
