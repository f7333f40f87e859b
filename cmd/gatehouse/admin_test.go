package main

import (
	"context"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/setup"
)

var linkRE = regexp.MustCompile(`https?://\S+`)

// TestAdminCommands: setup-link prints a live one-time link while no
// platform administrator exists; admin create makes one headless (the
// user holds gatehouse.platform_admin and gets a set-password link), after
// which setup-link refuses and the earlier link is dead.
func TestAdminCommands(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) {
			d := newDeployment(t, be.db(t))
			out := d.must("admin", "setup-link")
			link := linkRE.FindString(out)
			u, err := url.Parse(link)
			if err != nil || u.Path != "/setup" || u.Query().Get("token") == "" {
				t.Fatalf("setup-link printed %q", out)
			}
			app := d.app()
			ctx := context.Background()
			if err := app.Setup.CheckSetupToken(ctx, u.Query().Get("token")); err != nil {
				t.Fatalf("the printed link is not live: %v", err)
			}

			out = d.must("admin", "create", "--email", "root@example.com")
			inv := linkRE.FindString(out)
			if !strings.Contains(inv, "/t/default/invitation?token=") {
				t.Fatalf("admin create printed %q", out)
			}
			tn, _ := app.Tenants.Resolve(ctx, "default")
			usr, err := app.Directory.UserForEmail(ctx, tn.ID, "root@example.com")
			if err != nil {
				t.Fatal(err)
			}
			perms, err := app.Authz.Permissions(ctx, tn.ID, usr.ID)
			if err != nil || !authz.Holds(perms, authz.PermPlatform) {
				t.Fatalf("the new administrator holds %v (%v)", perms, err)
			}
			if err := app.Setup.CheckSetupToken(ctx, u.Query().Get("token")); err != setup.ErrInvalidToken {
				t.Errorf("setup link after an administrator exists: %v", err)
			}
			if msg := d.fails(1, "admin", "setup-link"); !strings.Contains(msg, "exists already") {
				t.Errorf("setup-link with an administrator: %q", msg)
			}
			d.fails(2, "admin", "bogus")
		})
	}
}
