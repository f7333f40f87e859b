package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// fixture is one set of real targets in a tenant.
type fixture struct {
	tenant      *store.Tenant
	member      *store.User // in group
	outsider    *store.User // in no group
	group       *store.Group
	client      *store.Client // a confidential client with a secret
	tenantKey   string        // id of a read key of tenant
	platformKey string        // id of a platform read key
	grant       string        // id of a device grant of member at client
	az          authzFixture  // roles, an elevation, a review (authz_fixture_test.go)
	social      socialFixture // a connection, identities (social_fixture_test.go)

	samlSP   *store.SAMLServiceProvider
	proxyApp *store.ProxyApp
	// announcement is the id of an account-page announcement.
	announcement string
	// importJob is the id of a finished import job of the tenant.
	importJob string
	// plan names a plan the platform routes read, change and delete.
	plan string
	// privacyRequest is the id of an open data-subject request about
	// outsider.
	privacyRequest string
	// webhook and delivery are a webhook endpoint and one of its
	// deliveries (events_fixture_test.go).
	webhook, delivery string
	// provisioningTarget is an outbound SCIM target (provisioning_test.go).
	provisioningTarget string
	// hook is the id of the tenant's post_login hook (hooks_fixture_test.go).
	hook string
	// domain is a verified custom domain's host (domains_fixture_test.go).
	domain string
	// detailType names an RFC 9396 authorization details type.
	detailType string
}

func (ta *testApp) fixture(tn *store.Tenant, n int) *fixture {
	ta.t.Helper()
	fx := &fixture{tenant: tn,
		member:   ta.user(tn.ID, fmt.Sprintf("member%d@example.com", n)),
		outsider: ta.user(tn.ID, fmt.Sprintf("outsider%d@example.com", n)),
		group:    ta.group(tn.ID, fmt.Sprintf("group-%d", n)),
		client:   ta.client(tn.ID, fmt.Sprintf("client-%d", n)),
		samlSP:   ta.samlSP(tn.ID, fmt.Sprintf("https://fixture-%d.example.com", n)),
		proxyApp: ta.proxyApp(tn.ID, fmt.Sprintf("fixture-%d.example.com", n)),
	}
	ta.addMember(tn.ID, fx.group.ID, fx.member.ID)
	fx.tenantKey, _ = ta.keyWithID(tn.ID, tenancy.ScopeRead)
	fx.platformKey, _ = ta.keyWithID(store.PlatformTenant, tenancy.ScopeRead)
	fx.az = ta.authzFixture(fx)
	fx.grant = ta.deviceGrant(tn.ID, fx.client.ID, fx.member.ID)
	fx.social = ta.socialFixture(fx)
	an := &store.Announcement{Tenant: tn.ID, Title: map[string]string{"en": "News"}, Body: map[string]string{"en": "Text."},
		Channels: []string{"account_page"}}
	if _, err := ta.Announcer.Publish(context.Background(), an); err != nil {
		ta.t.Fatal(err)
	}
	fx.announcement = an.ID
	fx.importJob = ta.importJob(tn.ID)
	fx.privacyRequest = ta.privacyRequest(tn.ID, fx.outsider.ID) // privacy_test.go
	fx.webhook, fx.delivery = ta.webhookFixture(tn, n)
	fx.provisioningTarget = ta.provisioningFixture(tn, n)
	fx.hook = ta.hookFixture(tn.ID)
	fx.domain = ta.domainFixture(tn.ID, n)
	fx.detailType = fmt.Sprintf("fixture_type_%d", n)
	if _, err := ta.Clients.PutDetailType(context.Background(), testActor, tn.ID, fx.detailType, matrixDetailType); err != nil {
		ta.t.Fatal(err)
	}
	fx.plan = fmt.Sprintf("fixture-%d-%s", n, strings.ToLower(rand.Text()[:8]))
	if _, err := ta.Tenants.CreatePlan(context.Background(), testActor, tenancy.PlanInput{Name: fx.plan}); err != nil {
		ta.t.Fatal(err)
	}
	return fx
}

// path fills the route's parameters with the fixture's ids; ref names the
// tenant (its slug or its id).
func (fx *fixture) path(route, ref string) string {
	p := strings.ReplaceAll(route, "{tenant}", ref)
	switch {
	case strings.Contains(route, "/consent-purposes/{name}"):
		p = strings.ReplaceAll(p, "{name}", matrixPurpose)
	case strings.HasPrefix(route, "/api/v1/plans/"):
		p = strings.ReplaceAll(p, "{name}", fx.plan)
	case strings.HasPrefix(route, "/api/v1/apikeys/"):
		p = strings.ReplaceAll(p, "{id}", fx.platformKey)
	case strings.Contains(route, "/apikeys/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.tenantKey)
	case strings.Contains(route, "/connections/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.social.conn.ID)
	case strings.Contains(route, "/users/{id}/identities/{identity}"):
		p = strings.ReplaceAll(strings.ReplaceAll(p, "{id}", fx.member.ID), "{identity}", fx.social.identity)
	case strings.Contains(route, "/users/{id}/roles/{role}"):
		p = strings.ReplaceAll(strings.ReplaceAll(p, "{id}", fx.member.ID), "{role}", fx.az.privRole.ID)
	case strings.Contains(route, "/groups/{id}/roles/{role}"):
		p = strings.ReplaceAll(strings.ReplaceAll(p, "{id}", fx.group.ID), "{role}", fx.az.role.ID)
	case strings.Contains(route, "/roles/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.az.role.ID)
	case strings.Contains(route, "/elevations/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.az.elevation.ID)
	case strings.Contains(route, "/reviews/{id}"):
		p = strings.ReplaceAll(strings.ReplaceAll(p, "{id}", fx.az.campaign.ID), "{item}", fx.az.item.ID)
	case strings.Contains(route, "/break-glass/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.outsider.ID)
	case strings.Contains(route, "/privacy-requests/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.privacyRequest)
	case strings.Contains(route, "/imports/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.importJob)
	case strings.Contains(route, "/users/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.member.ID)
	case strings.Contains(route, "/groups/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.group.ID)
	case strings.Contains(route, "/clients/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.client.ID)
	case strings.Contains(route, "/announcements/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.announcement)
	case strings.Contains(route, "/saml/sps/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.samlSP.ID)
	case strings.Contains(route, "/proxy-apps/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.proxyApp.ID)
	case strings.Contains(route, "/provisioning-targets/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.provisioningTarget)
	case strings.Contains(route, "/webhooks/{id}"):
		p = strings.ReplaceAll(strings.ReplaceAll(p, "{id}", fx.webhook), "{did}", fx.delivery)
	case strings.Contains(route, "/hooks/{id}"):
		p = strings.ReplaceAll(p, "{id}", fx.hook)
	case strings.Contains(route, "/domains/{host}"):
		p = strings.ReplaceAll(p, "{host}", fx.domain)
	case strings.Contains(route, "/authorization-detail-types/{type}"):
		p = strings.ReplaceAll(p, "{type}", fx.detailType)
	}
	p = strings.ReplaceAll(p, "{client}", fx.client.ID)
	p = strings.ReplaceAll(p, "{grant_id}", fx.grant)
	return strings.ReplaceAll(p, "{member}", fx.member.ID)
}

// matrixDetailType is the authorization details type of every fixture, and
// the body of the matrix's PUT (a plan of no change).
var matrixDetailType = oauthclient.DetailType{Description: "Payment initiation",
	Schema: []byte(`{"type":"object","properties":{"amount":{"type":"string"}}}`)}
