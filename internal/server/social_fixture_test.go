package server

import (
	"context"
	"fmt"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/google/uuid"
)

// socialFixture is the authorization matrix's brokering targets: a
// connection and two identities of the fixture's member (two, so that
// removing one is not removing the last way to sign in).
type socialFixture struct {
	conn     *store.Connection
	identity string
}

func (ta *testApp) socialFixture(fx *fixture) socialFixture {
	ta.t.Helper()
	ctx := context.Background()
	conn, err := ta.Connections.Create(ctx, testActor, fx.tenant.ID, connection.NewConnection{Type: "oidc",
		Name: fmt.Sprintf("corp-%s", fx.member.ID[len(fx.member.ID)-8:]), DisplayName: "Corp",
		ClientSecret: "secret", Settings: connection.Settings{Issuer: "https://idp.example.com", ClientID: "gh"}})
	if err != nil {
		ta.t.Fatalf("Create connection: %v", err)
	}
	var first string
	for i := range 2 {
		id := uuid.Must(uuid.NewV7()).String()
		if err := ta.DB.Connections().Identities().CreateIdentity(ctx, &store.Identity{ID: id, Tenant: fx.tenant.ID,
			UserID: fx.member.ID, ConnectionID: conn.ID, Subject: fmt.Sprintf("sub-%d-%s", i, id)}); err != nil {
			ta.t.Fatalf("CreateIdentity: %v", err)
		}
		if first == "" {
			first = id
		}
	}
	return socialFixture{conn: conn, identity: first}
}
