package scim

import (
	"net/http"
	"strings"
)

// serviceProviderConfig (RFC 7643 section 5): what this server supports.
func (s *Server) serviceProviderConfig(w http.ResponseWriter, r *req) error {
	write(w, http.StatusOK, map[string]any{
		"schemas":          []string{"urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"},
		"documentationUri": "https://github.com/gatehouse-id/gatehouse/blob/main/docs/scim.md",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": maxCount},
		"changePassword":   map[string]any{"supported": true},
		"sort":             map[string]any{"supported": true},
		"etag":             map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{"type": "oauthbearertoken", "name": "API key",
			"description": "A tenant API key with the scim scope, sent as a Bearer token.", "primary": true}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": r.base + "/ServiceProviderConfig"},
	})
	return nil
}

func (r *req) resourceTypeDocs() []any {
	return []any{
		map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "User", "name": "User",
			"endpoint": "/Users", "schema": URIUser,
			"schemaExtensions": []any{map[string]any{"schema": URIEnterprise, "required": false}},
			"meta":             map[string]any{"resourceType": "ResourceType", "location": r.base + "/ResourceTypes/User"}},
		map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "Group", "name": "Group",
			"endpoint": "/Groups", "schema": URIGroup,
			"meta": map[string]any{"resourceType": "ResourceType", "location": r.base + "/ResourceTypes/Group"}},
	}
}

func (s *Server) resourceTypes(w http.ResponseWriter, r *req) error {
	docs := r.resourceTypeDocs()
	write(w, http.StatusOK, listResponse(1, int64(len(docs)), docs))
	return nil
}

func (s *Server) resourceType(w http.ResponseWriter, r *req) error {
	return writeByID(w, r.resourceTypeDocs(), r.PathValue("id"))
}

func attrSchema(a *attrDef) map[string]any {
	m := map[string]any{"name": a.Name, "type": a.Type, "multiValued": a.Multi, "required": a.Name == "userName",
		"caseExact": a.Name == "id", "mutability": "readWrite", "returned": "default", "uniqueness": "none"}
	switch {
	case a.ReadOnly:
		m["mutability"] = "readOnly"
	case a.Name == "password":
		m["mutability"], m["returned"] = "writeOnly", "never"
	}
	if a.Name == "userName" || a.Name == "id" {
		m["uniqueness"] = "server"
	}
	if a.Subs != nil {
		subs := make([]any, 0, len(a.Subs))
		for _, s := range a.Subs {
			subs = append(subs, attrSchema(s))
		}
		m["subAttributes"] = subs
	}
	return m
}

func (r *req) schemaDocs() []any {
	doc := func(id, name string, def *attrDef, skip func(*attrDef) bool) map[string]any {
		attrs := []any{}
		for _, a := range def.Subs {
			if !skip(a) {
				attrs = append(attrs, attrSchema(a))
			}
		}
		return map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Schema"}, "id": id, "name": name,
			"attributes": attrs, "meta": map[string]any{"resourceType": "Schema", "location": r.base + "/Schemas/" + id}}
	}
	core := func(a *attrDef) bool {
		return a.Name == "schemas" || a.Name == "meta" || a.Name == "id" || strings.HasPrefix(a.Name, "urn:")
	}
	return []any{
		doc(URIUser, "User", userAttrs, core),
		doc(URIEnterprise, "EnterpriseUser", userAttrs.sub(URIEnterprise), func(*attrDef) bool { return false }),
		doc(URIGroup, "Group", groupAttrs, core),
	}
}

func (s *Server) schemas(w http.ResponseWriter, r *req) error {
	docs := r.schemaDocs()
	write(w, http.StatusOK, listResponse(1, int64(len(docs)), docs))
	return nil
}

func (s *Server) schema(w http.ResponseWriter, r *req) error {
	return writeByID(w, r.schemaDocs(), r.PathValue("id"))
}

// writeByID answers the document of docs whose id is id (ignoring case:
// schema URNs are case-insensitive).
func writeByID(w http.ResponseWriter, docs []any, id string) error {
	for _, d := range docs {
		if strings.EqualFold(d.(map[string]any)["id"].(string), id) {
			write(w, http.StatusOK, d)
			return nil
		}
	}
	return &Error{Status: http.StatusNotFound, Detail: "No such resource."}
}
