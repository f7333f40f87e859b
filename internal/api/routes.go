package api

import "net/http"

// route is one endpoint. The table is the single list of what the API
// serves: Mount registers it and the OpenAPI test checks the document
// against it.
type route struct {
	Method  string
	Path    string
	need    need
	handler handlerFunc
}

func (a *API) routes() []route {
	const t = "/api/v1/tenants/{tenant}"
	return []route{
		{http.MethodGet, "/api/v1/openapi.json", needPublic, a.openAPI},

		{http.MethodGet, "/api/v1/tenants", needPlatform, a.listTenants},
		{http.MethodPost, "/api/v1/tenants", needPlatform, a.createTenant},
		{http.MethodGet, t, needRead, a.getTenant},
		{http.MethodGet, t + "/usage", needRead, a.getUsage},          // usage.go
		{http.MethodGet, t + "/risk/model", needRead, a.getRiskModel}, // risk.go
		{http.MethodGet, "/api/v1/usage", needPlatform, a.listUsage},
		{http.MethodGet, "/api/v1/plans", needPlatform, a.listPlans},
		{http.MethodPost, "/api/v1/plans", needPlatform, a.createPlan},
		{http.MethodGet, "/api/v1/plans/{name}", needPlatform, a.getPlan},
		{http.MethodPatch, "/api/v1/plans/{name}", needPlatform, a.updatePlan},
		{http.MethodDelete, "/api/v1/plans/{name}", needPlatform, a.deletePlan},
		{http.MethodPatch, t, needAdmin, a.updateTenant},
		{http.MethodDelete, t, needPlatform, a.deleteTenant},
		{http.MethodPost, t + "/restore", needPlatform, a.restoreTenant},
		{http.MethodGet, t + "/profile-schema", needRead, a.getProfileSchema}, // profileschema.go
		{http.MethodPut, t + "/profile-schema", needAdmin, a.putProfileSchema},

		{http.MethodGet, t + "/users", needRead, a.listUsers},
		{http.MethodPost, t + "/users", needAdmin, a.createUser},
		{http.MethodGet, t + "/users/export", needAdmin, a.exportUsers}, // exports.go
		{http.MethodGet, t + "/users/{id}", needRead, a.getUser},
		{http.MethodPatch, t + "/users/{id}", needAdmin, a.updateUserOrHold}, // privacy.go: legal_hold
		{http.MethodDelete, t + "/users/{id}", needAdmin, a.deleteUser},
		{http.MethodGet, t + "/users/{id}/groups", needRead, a.userGroups},
		{http.MethodGet, t + "/users/{id}/sessions", needRead, a.listSessions},
		{http.MethodDelete, t + "/users/{id}/sessions", needAdmin, a.endSessions},
		{http.MethodGet, t + "/users/{id}/consents", needRead, a.listConsents},
		{http.MethodDelete, t + "/users/{id}/consents/{client}", needAdmin, a.revokeConsent},
		{http.MethodGet, t + "/users/{id}/grants", needRead, a.listGrants},
		{http.MethodDelete, t + "/users/{id}/grants/{grant_id}", needAdmin, a.revokeGrant},
		{http.MethodPost, t + "/invitations", needAdmin, a.createInvitation},  // invitations.go
		{http.MethodGet, t + "/announcements", needRead, a.listAnnouncements}, // announcements.go
		{http.MethodPost, t + "/announcements", needAdmin, a.createAnnouncement},
		{http.MethodGet, t + "/announcements/{id}", needRead, a.getAnnouncement},
		{http.MethodDelete, t + "/announcements/{id}", needAdmin, a.deleteAnnouncement},
		{http.MethodGet, t + "/adoption", needRead, a.getAdoption},
		{http.MethodGet, t + "/consent-purposes", needRead, a.listPurposes}, // consent.go
		{http.MethodPost, t + "/consent-purposes", needAdmin, a.createPurpose},
		{http.MethodGet, t + "/consent-purposes/{name}", needRead, a.getPurpose},
		{http.MethodGet, t + "/users/{id}/consent-records", needRead, a.listConsentRecords},
		{http.MethodPost, t + "/users/{id}/consent-records", needAdmin, a.createConsentRecord},
		{http.MethodGet, t + "/users/{id}/preferences", needRead, a.getPreferences},
		{http.MethodPut, t + "/users/{id}/preferences", needAdmin, a.putPreferences},

		{http.MethodGet, t + "/webhooks", needRead, a.listWebhooks}, // webhooks.go
		{http.MethodPost, t + "/webhooks", needAdmin, a.createWebhook},
		{http.MethodGet, t + "/webhooks/{id}", needRead, a.getWebhook},
		{http.MethodPatch, t + "/webhooks/{id}", needAdmin, a.updateWebhook},
		{http.MethodDelete, t + "/webhooks/{id}", needAdmin, a.deleteWebhook},
		{http.MethodPost, t + "/webhooks/{id}/rotate-secret", needAdmin, a.rotateWebhookSecret},
		{http.MethodGet, t + "/webhooks/{id}/deliveries", needRead, a.listWebhookDeliveries},
		{http.MethodPost, t + "/webhooks/{id}/deliveries/{did}/retry", needAdmin, a.retryWebhookDelivery},
		{http.MethodGet, t + "/events", needAudit, a.streamEvents},
		{http.MethodGet, t + "/provisioning-targets", needRead, a.listProvisioningTargets}, // provisioning.go
		{http.MethodPost, t + "/provisioning-targets", needAdmin, a.createProvisioningTarget},
		{http.MethodGet, t + "/provisioning-targets/{id}", needRead, a.getProvisioningTarget},
		{http.MethodPatch, t + "/provisioning-targets/{id}", needAdmin, a.updateProvisioningTarget},
		{http.MethodDelete, t + "/provisioning-targets/{id}", needAdmin, a.deleteProvisioningTarget},
		{http.MethodPost, t + "/provisioning-targets/{id}/sync", needAdmin, a.syncProvisioningTarget},
		{http.MethodGet, t + "/provisioning-targets/{id}/errors", needRead, a.listProvisioningErrors},

		{http.MethodGet, t + "/users/{id}/factors", needRead, a.listFactors},      // factors.go
		{http.MethodDelete, t + "/users/{id}/factors", needAdmin, a.resetFactors}, // factors.go

		{http.MethodGet, t + "/groups", needRead, a.listGroups},
		{http.MethodPost, t + "/groups", needAdmin, a.createGroup},
		{http.MethodGet, t + "/groups/{id}", needRead, a.getGroup},
		{http.MethodPatch, t + "/groups/{id}", needAdmin, a.updateGroup},
		{http.MethodDelete, t + "/groups/{id}", needAdmin, a.deleteGroup},
		{http.MethodGet, t + "/groups/{id}/members", needRead, a.listMembers},
		{http.MethodPost, t + "/groups/{id}/members", needAdmin, a.addMember},
		{http.MethodDelete, t + "/groups/{id}/members/{member}", needAdmin, a.removeMember},

		{http.MethodGet, t + "/apikeys", needAdmin, a.listKeys},
		{http.MethodPost, t + "/apikeys", needAdmin, a.createKey},
		{http.MethodPatch, t + "/apikeys/{id}", needAdmin, a.expireKey},
		{http.MethodDelete, t + "/apikeys/{id}", needAdmin, a.revokeKey},

		{http.MethodGet, t + "/clients", needRead, a.listClients},
		{http.MethodPost, t + "/clients", needAdmin, a.createClient},
		{http.MethodPost, t + "/registration-tokens", needAdmin, a.createRegistrationToken}, // registration.go
		{http.MethodGet, t + "/clients/{id}", needRead, a.getClient},
		{http.MethodPatch, t + "/clients/{id}", needAdmin, a.updateClient},
		{http.MethodDelete, t + "/clients/{id}", needAdmin, a.deleteClient},
		{http.MethodPost, t + "/clients/{id}/secret", needAdmin, a.rotateClientSecret},
		{http.MethodGet, t + "/authorization-detail-types", needRead, a.listDetailTypes}, // rar.go
		{http.MethodPut, t + "/authorization-detail-types/{type}", needAdmin, a.putDetailType},
		{http.MethodDelete, t + "/authorization-detail-types/{type}", needAdmin, a.deleteDetailType},

		{http.MethodGet, t + "/saml/sps", needRead, a.listSAMLSPs},
		{http.MethodPost, t + "/saml/sps", needAdmin, a.createSAMLSP},
		{http.MethodGet, t + "/saml/sps/{id}", needRead, a.getSAMLSP},
		{http.MethodPatch, t + "/saml/sps/{id}", needAdmin, a.updateSAMLSP},
		{http.MethodDelete, t + "/saml/sps/{id}", needAdmin, a.deleteSAMLSP},
		{http.MethodGet, t + "/hooks", needRead, a.listHooks}, // hooks.go
		{http.MethodPost, t + "/hooks", needAdmin, a.createHook},
		{http.MethodGet, t + "/hooks/{id}", needRead, a.getHook},
		{http.MethodPatch, t + "/hooks/{id}", needAdmin, a.updateHook},
		{http.MethodDelete, t + "/hooks/{id}", needAdmin, a.deleteHook},

		{http.MethodPost, t + "/imports", needAdmin, a.createImport},                 // imports.go
		{http.MethodGet, t + "/imports/{id}", needAdmin, a.getImport},                // imports.go
		{http.MethodGet, t + "/credentials/summary", needRead, a.credentialsSummary}, // imports.go

		{http.MethodGet, t + "/audit", needAudit, a.listAudit},
		{http.MethodGet, t + "/audit/verify", needAudit, a.verifyAudit},

		// Authorization: roles, assignments, the check API,
		// privileged access and access reviews.
		{http.MethodGet, t + "/roles", needRead, a.listRoles},
		{http.MethodPost, t + "/roles", needAdmin, a.createRole},
		{http.MethodGet, t + "/roles/{id}", needRead, a.getRole},
		{http.MethodPatch, t + "/roles/{id}", needAdmin, a.updateRole},
		{http.MethodDelete, t + "/roles/{id}", needAdmin, a.deleteRole},
		{http.MethodGet, t + "/roles/{id}/assignments", needRead, a.roleAssignments},
		{http.MethodGet, t + "/users/{id}/roles", needRead, a.userRoles},
		{http.MethodPost, t + "/users/{id}/roles", needAdmin, a.assignUserRole},
		{http.MethodDelete, t + "/users/{id}/roles/{role}", needAdmin, a.unassignUserRole},
		{http.MethodGet, t + "/users/{id}/effective-roles", needRead, a.effectiveRoles},
		{http.MethodPost, t + "/users/{id}/elevations", needAdmin, a.requestElevation},
		{http.MethodGet, t + "/groups/{id}/roles", needRead, a.groupRoles},
		{http.MethodPost, t + "/groups/{id}/roles", needAdmin, a.assignGroupRole},
		{http.MethodDelete, t + "/groups/{id}/roles/{role}", needAdmin, a.unassignGroupRole},
		{http.MethodPost, t + "/authz/check", needQuery, a.check},
		{http.MethodPost, t + "/authz/check/batch", needQuery, a.checkBatch},
		{http.MethodGet, t + "/elevations", needRead, a.listElevations},
		{http.MethodGet, t + "/elevations/{id}", needRead, a.getElevation},
		{http.MethodPost, t + "/elevations/{id}/approve", needAdmin, a.approveElevation},
		{http.MethodPost, t + "/elevations/{id}/deny", needAdmin, a.denyElevation},
		{http.MethodPost, t + "/elevations/{id}/revoke", needAdmin, a.revokeElevation},
		{http.MethodGet, t + "/break-glass", needRead, a.listBreakGlass},
		{http.MethodPost, t + "/break-glass", needAdmin, a.addBreakGlass},
		{http.MethodDelete, t + "/break-glass/{id}", needAdmin, a.removeBreakGlass},
		{http.MethodGet, t + "/reviews", needRead, a.listReviews},
		{http.MethodPost, t + "/reviews", needAdmin, a.createReview},
		{http.MethodGet, t + "/reviews/{id}", needRead, a.getReview},
		{http.MethodGet, t + "/reviews/{id}/items", needRead, a.listReviewItems},
		{http.MethodPost, t + "/reviews/{id}/items/{item}/decision", needAdmin, a.decideReviewItem},
		{http.MethodGet, t + "/reviews/{id}/report", needAudit, a.reviewReport},

		// Identity brokering: connections.go.
		{http.MethodGet, t + "/connections", needRead, a.listConnections},
		{http.MethodPost, t + "/connections", needAdmin, a.createConnection},
		{http.MethodGet, t + "/connections/{id}", needRead, a.getConnection},
		{http.MethodPatch, t + "/connections/{id}", needAdmin, a.updateConnection},
		{http.MethodDelete, t + "/connections/{id}", needAdmin, a.deleteConnection},
		// Data-subject rights: privacy.go.
		{http.MethodPost, t + "/users/{id}/erase", needAdmin, a.eraseUser},
		{http.MethodGet, t + "/users/{id}/export", needAdmin, a.exportUser},
		{http.MethodPost, t + "/privacy-requests", needAdmin, a.createPrivacyRequest},
		{http.MethodGet, t + "/privacy-requests", needRead, a.listPrivacyRequests},
		{http.MethodPatch, t + "/privacy-requests/{id}", needAdmin, a.updatePrivacyRequest},

		{http.MethodGet, t + "/users/{id}/identities", needRead, a.listIdentities},
		{http.MethodDelete, t + "/users/{id}/identities/{identity}", needAdmin, a.unlinkIdentity},

		// Custom domains: domains.go.
		{http.MethodGet, t + "/domains", needRead, a.listDomains},
		{http.MethodPost, t + "/domains", needAdmin, a.createDomain},
		{http.MethodGet, t + "/domains/{host}", needRead, a.getDomain},
		{http.MethodDelete, t + "/domains/{host}", needAdmin, a.deleteDomain},
		{http.MethodPost, t + "/domains/{host}/verify", needAdmin, a.verifyDomain},
		{http.MethodPut, t + "/domains/{host}/certificate", needAdmin, a.putDomainCertificate},

		// Forward authentication: proxyapps.go.
		{http.MethodGet, t + "/proxy-apps", needRead, a.listProxyApps},
		{http.MethodPost, t + "/proxy-apps", needAdmin, a.createProxyApp},
		{http.MethodGet, t + "/proxy-apps/{id}", needRead, a.getProxyApp},
		{http.MethodPatch, t + "/proxy-apps/{id}", needAdmin, a.updateProxyApp},
		{http.MethodDelete, t + "/proxy-apps/{id}", needAdmin, a.deleteProxyApp},

		{http.MethodGet, "/api/v1/apikeys", needPlatform, a.listKeys},
		{http.MethodPost, "/api/v1/apikeys", needPlatform, a.createKey},
		{http.MethodPatch, "/api/v1/apikeys/{id}", needPlatform, a.expireKey},
		{http.MethodDelete, "/api/v1/apikeys/{id}", needPlatform, a.revokeKey},
		{http.MethodGet, "/api/v1/audit", needPlatform, a.listAudit},
		{http.MethodGet, "/api/v1/audit/verify", needPlatform, a.verifyAudit},

		// Configuration as code: configcode.go.
		{http.MethodGet, "/api/v1/config.schema.json", needPublic, a.configSchema},
		{http.MethodPost, "/api/v1/config/plan", needPlatform, a.configPlan},
		{http.MethodPost, "/api/v1/config/apply", needPlatform, a.configApply},
	}
}
