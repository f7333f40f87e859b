package selfservice_test

import (
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestNoResetForFederatedAccount: a federating directory owns the
// password of the accounts linked through it, so asking for a reset mails
// nothing (and answers as for an unknown address); once the connection
// only migrates, the reset mail goes out.
func TestNoResetForFederatedAccount(t *testing.T) {
	sqltest.ForEachStore(t, func(t *testing.T, s store.Store) {
		e := newEnv(t, s, cheap)
		ctx := t.Context()
		tn := e.tenant(t, nil)
		admin := events.Actor{Type: "cli", ID: "t"}
		u, err := e.svc.Directory.CreateUser(ctx, admin, tn.ID, directory.NewUser{Email: "fed@example.com"})
		if err != nil {
			t.Fatal(err)
		}
		conns := &connection.Service{Store: s, Audit: e.svc.Audit, Sealer: e.sealer, Now: time.Now}
		in := connection.NewConnection{Type: connection.TypeLegacyLDAP, Name: "corp-ad"}
		in.URL, in.BaseDN, in.Mode = "ldaps://ad.example.com", "dc=example,dc=com", connection.ModeFederate
		conn, err := conns.Create(ctx, admin, tn.ID, in)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Connections().Identities().CreateIdentity(ctx, &store.Identity{ID: uuid.Must(uuid.NewV7()).String(),
			Tenant: tn.ID, UserID: u.ID, ConnectionID: conn.ID, Subject: "uid=fed,dc=example,dc=com", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ForgotPassword(ctx, tn, "fed@example.com", "192.0.2.1", ""); err != nil {
			t.Fatal(err)
		}
		if ms := e.mails(t); len(ms) != 0 {
			t.Fatalf("a federated account got %d mails", len(ms))
		}
		mode := connection.ModeMigrate
		if _, err := conns.Update(ctx, admin, tn.ID, conn.ID, 0, connection.Patch{Mode: &mode}); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.ForgotPassword(ctx, tn, "fed@example.com", "192.0.2.1", ""); err != nil {
			t.Fatal(err)
		}
		e.one(t, "reset", "fed@example.com")
	})
}
