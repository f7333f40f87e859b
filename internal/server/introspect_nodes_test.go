package server

import (
	"context"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// TestIntrospectionFollowsUserAcrossNodes: two nodes on one PostgreSQL
// database, each holding a user's token as verified, the user and the
// revocations in memory (introspected active on both first). Disabling
// one user, and deleting another, through node A makes node B answer their
// tokens inactive within a second.
func TestIntrospectionFollowsUserAcrossNodes(t *testing.T) {
	nodes := twoNodes(t, sqltest.PostgresDSN(t), "")
	a, b := nodes[0], nodes[1]
	tn := a.tenant("acme")
	admin := a.key(tn.ID, "admin")
	c, secret, err := a.Clients.CreateClient(context.Background(), testActor, tn.ID, oauthclient.NewClient{
		Name: "Ops console", GrantTypes: []string{deviceGrantType, "refresh_token"}, TokenEndpointAuthMethod: "client_secret_post"})
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: c.ID, ClientSecret: secret, Scopes: []string{"openid", "profile", "offline_access"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: a.srv.URL + "/t/acme/device_authorization",
			TokenURL: a.srv.URL + "/t/acme/oauth/token", AuthStyle: oauth2.AuthStyleInParams}}
	token := func(email string) (userID, tok string) {
		const pw = "correct horse battery"
		u := a.userWithPassword(tn.ID, email, pw)
		br := a.browser()
		br.signIn("acme", email, pw)
		return u.ID, deviceToken(t, br, conf, oauth2.SetAuthURLParam("client_secret", secret)).AccessToken
	}
	adaID, ada := token("ada@example.com")
	bobID, bob := token("bob@example.com")
	for _, n := range nodes {
		for range 2 { // the second from memory
			if !introspect(t, n, conf, ada) || !introspect(t, n, conf, bob) {
				t.Fatal("a token is inactive before any change")
			}
		}
	}
	inactiveWithin := func(what, tok string) {
		t.Helper()
		start := time.Now()
		for introspect(t, b, conf, tok) {
			if time.Since(start) > time.Second {
				t.Fatalf("%s: node B still answers active after a second", what)
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Logf("%s: inactive on node B after %v", what, time.Since(start).Round(time.Millisecond))
	}
	a.mustAPI("PATCH", "/api/v1/tenants/acme/users/"+adaID, admin, map[string]any{"status": "disabled"})
	inactiveWithin("user disabled", ada)
	if !introspect(t, b, conf, bob) {
		t.Fatal("another user's token went inactive")
	}
	a.mustAPI("DELETE", "/api/v1/tenants/acme/users/"+bobID, admin, nil)
	inactiveWithin("user deleted", bob)
}
