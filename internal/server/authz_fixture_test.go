package server

import (
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// authzFixture is what the authorization matrix rows act on: role, given
// to the fixture's group (so its member holds it through the group);
// privRole, privileged, assigned to the member directly and approved by
// the outsider; a pending elevation of the member to it; a review of the
// privileged assignments with the outsider as reviewer; and the outsider
// marked as a break-glass account.
type authzFixture struct {
	role, privRole *store.Role
	elevation      *store.Elevation
	campaign       *store.ReviewCampaign
	item           *store.ReviewItem
}

func (ta *testApp) authzFixture(fx *fixture) authzFixture {
	ta.t.Helper()
	ctx, tn := ta.t.Context(), fx.tenant.ID
	must := func(err error) {
		ta.t.Helper()
		if err != nil {
			ta.t.Fatal(err)
		}
	}
	var (
		az  authzFixture
		err error
	)
	suffix := fmt.Sprintf("%s-%s", fx.group.Name, fx.member.ID[len(fx.member.ID)-6:])
	az.role, err = ta.Authz.CreateRole(ctx, testActor, tn, authz.NewRole{Name: "role-" + suffix, Permissions: []string{"docs:read"}})
	must(err)
	az.privRole, err = ta.Authz.CreateRole(ctx, testActor, tn, authz.NewRole{Name: "priv-" + suffix, Permissions: []string{"prod:write"},
		Privileged: true, MaxDuration: "2h", Approvers: []string{fx.outsider.ID}})
	must(err)
	_, _, err = ta.Authz.AssignGroup(ctx, testActor, tn, fx.group.ID, az.role.ID)
	must(err)
	_, _, err = ta.Authz.AssignUser(ctx, testActor, tn, fx.member.ID, az.privRole.ID)
	must(err)
	az.elevation, err = ta.Authz.RequestElevation(ctx, testActor, tn, fx.member.ID,
		authz.ElevationRequest{Role: az.privRole.ID, Reason: "fixture", Duration: "1h"}, nil)
	must(err)
	az.campaign, err = ta.Authz.CreateCampaign(ctx, testActor, tn, authz.NewCampaign{Name: "review " + suffix, Scope: "privileged",
		Reviewers: []string{fx.outsider.ID}, Deadline: time.Now().Add(24 * time.Hour).UTC().Format(time.RFC3339)})
	must(err)
	// The shared tenant holds every fixture's privileged roles: page
	// through the campaign's items for this member's.
	page := store.Page{Limit: 200}
	for n := 0; az.item == nil && n < 100; n++ {
		items, err := ta.Authz.ListItems(ctx, tn, az.campaign.ID, page)
		must(err)
		for i := range items {
			if items[i].UserID == fx.member.ID {
				az.item = &items[i]
			}
		}
		if len(items) < page.Limit {
			break
		}
		page.After = items[len(items)-1].ID
	}
	if az.item == nil {
		ta.t.Fatalf("review of %s has no item for the member", fx.tenant.Slug)
	}
	_, err = ta.Authz.AddBreakGlass(ctx, testActor, tn, fx.outsider.ID, "matrix")
	must(err)
	return az
}
