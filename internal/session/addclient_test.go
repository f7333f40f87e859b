package session_test

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// countingStore counts the session updates made through it.
type countingStore struct {
	store.Store
	updates *atomic.Int64
}

func (c countingStore) OAuth() store.OAuthRepos { return countingOAuth{c.Store.OAuth(), c.updates} }

type countingOAuth struct {
	store.OAuthRepos
	updates *atomic.Int64
}

func (c countingOAuth) Sessions() store.Sessions {
	return countingSessions{c.OAuthRepos.Sessions(), c.updates}
}

type countingSessions struct {
	store.Sessions
	updates *atomic.Int64
}

func (c countingSessions) UpdateSession(ctx context.Context, tenant store.TenantID, id string, fn func(*store.Session) error) (*store.Session, error) {
	c.updates.Add(1)
	return c.Sessions.UpdateSession(ctx, tenant, id, fn)
}

// TestAddClient: a client is recorded on a session once; adding it again
// writes nothing, on this node (from memory) or on another (which reads
// the session first); another client is still recorded.
func TestAddClient(t *testing.T) {
	sqltest.ForEachDB(t, func(t *testing.T, db *sqlstore.DB) {
		ctx := t.Context()
		tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: "acme", Name: "Acme"}
		if err := db.Tenants().CreateTenant(ctx, tn); err != nil {
			t.Fatal(err)
		}
		u := &store.User{ID: uuid.Must(uuid.NewV7()).String(), Tenant: tn.ID, Status: store.UserActive,
			Email: "ada@example.com", EmailNorm: "ada@example.com"}
		if err := db.Users().CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		var updates atomic.Int64
		cs := countingStore{db, &updates}
		node1, node2 := &session.Service{Store: cs, Now: time.Now}, &session.Service{Store: cs, Now: time.Now}
		sess, _, err := node1.Create(ctx, tn.ID, u.ID, []string{"pwd"}, "test", "127.0.0.1")
		if err != nil {
			t.Fatal(err)
		}
		add := func(s *session.Service, client string, wantUpdates int64) {
			t.Helper()
			if err := s.AddClient(ctx, tn.ID, sess.ID, client); err != nil {
				t.Fatalf("AddClient(%s): %v", client, err)
			}
			if n := updates.Load(); n != wantUpdates {
				t.Errorf("AddClient(%s): %d session updates so far, want %d", client, n, wantUpdates)
			}
		}
		add(node1, "app", 1)
		add(node1, "app", 1)
		add(node2, "app", 1)
		add(node2, "wiki", 2)
		add(node1, "wiki", 2)
		got, err := db.OAuth().Sessions().GetSession(ctx, tn.ID, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got.Clients, []string{"app", "wiki"}) {
			t.Errorf("session clients %v, want [app wiki]", got.Clients)
		}
	})
}
