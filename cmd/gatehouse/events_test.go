package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestEventsTail: `events tail` prints the tenant's events after a cursor
// as JSON lines or CEF (with its escapes); bad flags exit 2.
func TestEventsTail(t *testing.T) {
	for _, be := range backendDBs {
		t.Run(be.name, func(t *testing.T) {
			d := newDeployment(t, be.db(t))
			app := d.app()
			ctx := context.Background()
			tn, err := app.Tenants.CreateTenant(ctx, cliActor(), tenancy.NewTenant{Slug: "siem", Name: "SIEM"})
			if err != nil {
				t.Fatal(err)
			}
			a, err := app.Directory.CreateUser(ctx, cliActor(), tn.ID, directory.NewUser{Email: "a=b@example.com"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := app.Directory.CreateUser(ctx, cliActor(), tn.ID, directory.NewUser{Email: "second@example.com"}); err != nil {
				t.Fatal(err)
			}
			app.Close()

			var lines []map[string]any
			for _, l := range strings.Split(strings.TrimSpace(d.must("events", "tail", "--tenant", "siem")), "\n") {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil {
					t.Fatalf("line %q: %v", l, err)
				}
				if m["type"] == "user.created" {
					lines = append(lines, m)
				}
			}
			if len(lines) != 2 || lines[0]["user_id"] != a.ID || lines[0]["tenant"] != string(tn.ID) {
				t.Fatalf("json lines = %v", lines)
			}
			rest := d.must("events", "tail", "--tenant", "siem", "--cursor", lines[0]["id"].(string))
			if strings.Contains(rest, a.ID) || !strings.Contains(rest, "second@example.com") {
				t.Fatalf("after the cursor: %s", rest)
			}
			cef := d.must("events", "tail", "--tenant", string(tn.ID), "--format", "cef")
			var line string
			for _, l := range strings.Split(cef, "\n") {
				if strings.Contains(l, "suid="+a.ID) {
					line = l
				}
			}
			if !strings.HasPrefix(line, "CEF:0|Gatehouse|Gatehouse|1|user.created|user.created|3|rt=") ||
				!strings.Contains(line, "externalId="+lines[0]["id"].(string)) || !strings.Contains(line, `a\=b@example.com`) ||
				!strings.Contains(line, "cs1="+string(tn.ID)) {
				t.Fatalf("cef line = %q", line)
			}
			d.fails(2, "events", "tail", "--tenant", "siem", "--format", "xml")
			d.fails(2, "events", "tail")
		})
	}
}
