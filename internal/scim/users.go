package scim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// scimKeys are the User attributes kept in the user's JSON attributes
// under "scim"; the rest map onto columns.
var scimKeys = []string{"externalId", "displayName", "nickName", "profileUrl", "title", "userType",
	"preferredLanguage", "timezone", "emails", "phoneNumbers", "addresses"}

// userDoc renders u as a SCIM User (groups when given, meta always).
func (r *req) userDoc(u *store.User, groups []store.Group) map[string]any {
	var attrs map[string]any
	_ = json.Unmarshal(u.Attributes, &attrs)
	sc, _ := attrs["scim"].(map[string]any)
	doc := map[string]any{"schemas": []string{URIUser}, "id": u.ID, "active": u.Status == store.UserActive}
	for _, k := range scimKeys {
		if v, ok := sc[k]; ok {
			doc[k] = v
		}
	}
	doc["userName"] = u.Username
	if u.Username == "" {
		doc["userName"] = u.Email
	}
	name, _ := sc["name"].(map[string]any)
	if name == nil {
		name = map[string]any{}
	}
	if u.GivenName != "" {
		name["givenName"] = u.GivenName
	}
	if u.FamilyName != "" {
		name["familyName"] = u.FamilyName
	}
	if len(name) > 0 {
		doc["name"] = name
	}
	if u.Locale != "" {
		doc["locale"] = u.Locale
	}
	doc["emails"] = withPrimaryEmail(doc["emails"], u.Email)
	if ent, ok := sc["enterprise"].(map[string]any); ok && len(ent) > 0 {
		doc[URIEnterprise] = ent
		doc["schemas"] = []string{URIUser, URIEnterprise}
	}
	if prof := profileDoc(r.tenant, u); len(prof) > 0 {
		doc[URIProfile] = prof
		doc["schemas"] = append(doc["schemas"].([]string), URIProfile)
	}
	if groups != nil {
		gs := make([]any, 0, len(groups))
		for _, g := range groups {
			gs = append(gs, map[string]any{"value": g.ID, "display": g.Name, "type": "direct", "$ref": r.base + "/Groups/" + g.ID})
		}
		doc["groups"] = gs
	}
	doc["meta"] = map[string]any{"resourceType": "User", "created": u.CreatedAt.UTC().Format(time.RFC3339Nano),
		"lastModified": u.UpdatedAt.UTC().Format(time.RFC3339Nano), "location": r.base + "/Users/" + u.ID,
		"version": etag(u.Version)}
	return doc
}

// withPrimaryEmail keeps the stored emails but makes sure the user's
// email (which the REST API may have changed) is among them, as primary.
func withPrimaryEmail(v any, email string) any {
	arr, _ := v.([]any)
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok {
			if s, _ := m["value"].(string); strings.EqualFold(s, email) {
				return arr
			}
		}
	}
	out := []any{map[string]any{"value": email, "primary": true}}
	for _, e := range arr {
		if m, ok := e.(map[string]any); ok && m["primary"] == true {
			c := map[string]any{}
			for k, x := range m {
				c[k] = x
			}
			c["value"], out[0] = email, c
			continue
		}
		out = append(out, e)
	}
	return out
}

// userFields is what a normalized User document sets in the directory.
type userFields struct {
	username, email, given, family, locale string
	active                                 *bool
	password                               *string
	scim                                   map[string]any
	// profile are the profile schema fields (URIProfile) sent.
	profile map[string]any
}

// text answers m[k] when it is a string, else "".
func text(m map[string]any, k string) string { v, _ := m[k].(string); return v }

// fieldsOf reads a normalized User document.
func fieldsOf(doc map[string]any) (*userFields, error) {
	f := &userFields{username: strings.TrimSpace(text(doc, "userName")), locale: text(doc, "locale"), scim: map[string]any{}}
	if f.username == "" {
		return nil, bad("invalidValue", "userName is required.")
	}
	for _, k := range scimKeys {
		if v, ok := doc[k]; ok {
			f.scim[k] = v
		}
	}
	if name, ok := doc["name"].(map[string]any); ok {
		f.given, f.family = text(name, "givenName"), text(name, "familyName")
		rest := map[string]any{}
		for k, v := range name {
			if k != "givenName" && k != "familyName" {
				rest[k] = v
			}
		}
		if len(rest) > 0 {
			f.scim["name"] = rest
		}
	}
	if ent, ok := doc[URIEnterprise].(map[string]any); ok && len(ent) > 0 {
		f.scim["enterprise"] = ent
	}
	f.profile, _ = doc[URIProfile].(map[string]any)
	if b, ok := doc["active"].(bool); ok {
		f.active = &b
	}
	if pw, ok := doc["password"].(string); ok {
		f.password = &pw
	}
	f.email = primaryEmail(doc["emails"])
	if f.email == "" && strings.Contains(f.username, "@") {
		// No emails: a user principal name is the address.
		f.email = f.username
	}
	if f.email == "" {
		return nil, bad("invalidValue", "emails: a user needs an email address.")
	}
	return f, nil
}

// primaryEmail: the one marked primary, else the first of type work,
// else the first.
func primaryEmail(v any) string {
	arr, _ := v.([]any)
	var work, first string
	for _, e := range arr {
		m, _ := e.(map[string]any)
		val := strings.TrimSpace(text(m, "value"))
		if val == "" {
			continue
		}
		if m["primary"] == true {
			return val
		}
		if work == "" && strings.EqualFold(text(m, "type"), "work") {
			work = val
		}
		if first == "" {
			first = val
		}
	}
	if work != "" {
		return work
	}
	return first
}

func attributesJSON(scim, profile map[string]any) json.RawMessage {
	attrs := map[string]any{"scim": scim}
	for k, v := range profile {
		attrs[k] = v
	}
	return json.RawMessage(mustJSON(attrs))
}

func (s *Server) createUser(w http.ResponseWriter, r *req) error {
	doc, err := decodeResource(r, userAttrs)
	if err != nil {
		return err
	}
	f, err := fieldsOf(doc)
	if err != nil {
		return err
	}
	in := directory.NewUser{Email: f.email, Username: f.username, GivenName: f.given, FamilyName: f.family,
		Locale: f.locale, Password: f.password, Attributes: attributesJSON(f.scim, f.profile)}
	if f.active != nil && !*f.active {
		in.Status = string(store.UserDisabled)
	}
	u, err := s.Directory.CreateUser(r.Context(), r.actor, r.tenant.ID, in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", r.base+"/Users/"+u.ID)
	w.Header().Set("ETag", etag(u.Version))
	write(w, http.StatusCreated, r.userDoc(u, []store.Group{}))
	return nil
}

func (s *Server) getUser(w http.ResponseWriter, r *req) error {
	u, err := s.Directory.GetUser(r.Context(), r.tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	proj, err := projection(r.Request)
	if err != nil {
		return err
	}
	var groups []store.Group
	if proj.wants("groups") {
		if groups, err = s.Directory.UserGroups(r.Context(), r.tenant.ID, u.ID, false); err != nil {
			return err
		}
		if groups == nil {
			groups = []store.Group{}
		}
	}
	w.Header().Set("ETag", etag(u.Version))
	write(w, http.StatusOK, proj.apply(r.userDoc(u, groups)))
	return nil
}

// replaceUser stores doc (a normalized full User) over u at u.Version.
func (s *Server) replaceUser(w http.ResponseWriter, r *req, u *store.User, doc map[string]any) error {
	f, err := fieldsOf(doc)
	if err != nil {
		return err
	}
	var old map[string]any
	_ = json.Unmarshal(u.Attributes, &old)
	p := directory.UserPatch{Email: &f.email, Username: &f.username, GivenName: &f.given, FamilyName: &f.family,
		Locale: &f.locale, Password: f.password}
	// active moves a user between active and disabled only: a user locked
	// by failed sign-ins stays locked whatever a client sends (Okta sends
	// active:true with every PUT), so provisioning cannot lift a lockout.
	if f.active != nil {
		st := string(u.Status)
		switch {
		case *f.active && u.Status == store.UserDisabled:
			st = string(store.UserActive)
		case !*f.active && u.Status == store.UserActive:
			st = string(store.UserDisabled)
		}
		p.Status = &st
	}
	was, next := map[string]any{"scim": old["scim"]}, map[string]any{"scim": f.scim}
	for k, v := range f.profile {
		was[k], next[k] = old[k], v
	}
	if d := mergeDiff(was, next); len(d.(map[string]any)) > 0 {
		p.Attributes = mustJSON(d)
	}
	nu, err := s.Directory.UpdateUser(r.Context(), r.actor, r.tenant.ID, u.ID, u.Version, p)
	if err != nil {
		return err
	}
	groups, err := s.Directory.UserGroups(r.Context(), r.tenant.ID, nu.ID, false)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(nu.Version))
	write(w, http.StatusOK, r.userDoc(nu, append([]store.Group{}, groups...)))
	return nil
}

// currentUser reads the user and checks If-Match.
func (s *Server) currentUser(r *req) (*store.User, error) {
	u, err := s.Directory.GetUser(r.Context(), r.tenant.ID, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return u, checkIfMatch(r.Request, u.Version)
}

func (s *Server) putUser(w http.ResponseWriter, r *req) error {
	u, err := s.currentUser(r)
	if err != nil {
		return err
	}
	doc, err := decodeResource(r, userAttrs)
	if err != nil {
		return err
	}
	if id := text(doc, "id"); id != "" && id != u.ID {
		return bad("mutability", "id cannot change.")
	}
	return s.replaceUser(w, r, u, doc)
}

func (s *Server) patchUser(w http.ResponseWriter, r *req) error {
	u, err := s.currentUser(r)
	if err != nil {
		return err
	}
	ops, err := decodePatch(r)
	if err != nil {
		return err
	}
	// Through JSON, so the document holds only JSON types ([]any, not
	// []string), as a decoded body would.
	var doc map[string]any
	if err := json.Unmarshal(mustJSON(r.userDoc(u, nil)), &doc); err != nil {
		return err
	}
	delete(doc, "meta")
	for _, op := range ops {
		if err := applyOp(userAttrs, doc, op); err != nil {
			return err
		}
	}
	n, err := normalize(userAttrs, doc, "")
	if err != nil {
		return err
	}
	return s.replaceUser(w, r, u, n.(map[string]any))
}

func (s *Server) deleteUser(w http.ResponseWriter, r *req) error {
	u, err := s.currentUser(r)
	if err != nil {
		return err
	}
	if err := s.Directory.DeleteUser(r.Context(), r.actor, r.tenant.ID, u.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
