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
		{http.MethodPatch, t, needAdmin, a.updateTenant},
		{http.MethodDelete, t, needPlatform, a.deleteTenant},

		{http.MethodGet, t + "/users", needRead, a.listUsers},
		{http.MethodPost, t + "/users", needAdmin, a.createUser},
		{http.MethodGet, t + "/users/{id}", needRead, a.getUser},
		{http.MethodPatch, t + "/users/{id}", needAdmin, a.updateUser},
		{http.MethodDelete, t + "/users/{id}", needAdmin, a.deleteUser},
		{http.MethodGet, t + "/users/{id}/groups", needRead, a.userGroups},
		{http.MethodGet, t + "/users/{id}/sessions", needRead, a.listSessions},
		{http.MethodDelete, t + "/users/{id}/sessions", needAdmin, a.endSessions},
		{http.MethodGet, t + "/users/{id}/consents", needRead, a.listConsents},
		{http.MethodDelete, t + "/users/{id}/consents/{client}", needAdmin, a.revokeConsent},
		{http.MethodPost, t + "/invitations", needAdmin, a.createInvitation}, // invitations.go

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
		{http.MethodGet, t + "/clients/{id}", needRead, a.getClient},
		{http.MethodPatch, t + "/clients/{id}", needAdmin, a.updateClient},
		{http.MethodDelete, t + "/clients/{id}", needAdmin, a.deleteClient},
		{http.MethodPost, t + "/clients/{id}/secret", needAdmin, a.rotateClientSecret},

		{http.MethodGet, t + "/audit", needAudit, a.listAudit},
		{http.MethodGet, t + "/audit/verify", needAudit, a.verifyAudit},

		{http.MethodGet, "/api/v1/apikeys", needPlatform, a.listKeys},
		{http.MethodPost, "/api/v1/apikeys", needPlatform, a.createKey},
		{http.MethodPatch, "/api/v1/apikeys/{id}", needPlatform, a.expireKey},
		{http.MethodDelete, "/api/v1/apikeys/{id}", needPlatform, a.revokeKey},
		{http.MethodGet, "/api/v1/audit", needPlatform, a.listAudit},
		{http.MethodGet, "/api/v1/audit/verify", needPlatform, a.verifyAudit},
	}
}
