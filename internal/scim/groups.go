package scim

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/scimfilter"
)

// maxMemberPages bounds how many pages of 1,000 members a group's
// representation loads.
const maxMemberPages = 100

func (r *req) groupDoc(g *store.Group, members []store.Member) map[string]any {
	doc := map[string]any{"schemas": []string{URIGroup}, "id": g.ID, "displayName": g.Name}
	if members != nil {
		ms := make([]any, 0, len(members))
		for _, m := range members {
			typ, res := "User", "/Users/"
			if m.Type == store.MemberGroup {
				typ, res = "Group", "/Groups/"
			}
			ms = append(ms, map[string]any{"value": m.ID, "type": typ, "$ref": r.base + res + m.ID})
		}
		doc["members"] = ms
	}
	doc["meta"] = map[string]any{"resourceType": "Group", "created": g.CreatedAt.UTC().Format(time.RFC3339Nano),
		"lastModified": g.UpdatedAt.UTC().Format(time.RFC3339Nano), "location": r.base + "/Groups/" + g.ID,
		"version": etag(g.Version)}
	return doc
}

func (s *Server) members(r *req, groupID string) ([]store.Member, error) {
	out := []store.Member{}
	p := store.Page{Limit: 1000}
	for range maxMemberPages {
		page, err := s.Directory.ListMembers(r.Context(), r.tenant.ID, groupID, p)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < p.Limit {
			return out, nil
		}
		p.After = page[len(page)-1].ID
	}
	return out, nil
}

// member resolves a member value to a user or group of the tenant.
func (s *Server) member(r *req, v any) (store.Member, error) {
	m, _ := v.(map[string]any)
	id := strings.TrimSpace(text(m, "value"))
	if id == "" {
		return store.Member{}, bad("invalidValue", "A member needs a value (the member's id).")
	}
	typ := strings.ToLower(text(m, "type"))
	if typ != "group" {
		if _, err := s.Directory.GetUser(r.Context(), r.tenant.ID, id); err == nil {
			return store.Member{Type: store.MemberUser, ID: id}, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.Member{}, err
		}
	}
	if typ != "user" {
		if _, err := s.Directory.GetGroup(r.Context(), r.tenant.ID, id); err == nil {
			return store.Member{Type: store.MemberGroup, ID: id}, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.Member{}, err
		}
	}
	return store.Member{}, bad("invalidValue", "members: no user or group "+id+".")
}

func (s *Server) resolveMembers(r *req, v any) ([]store.Member, error) {
	arr, _ := v.([]any)
	out := make([]store.Member, 0, len(arr))
	for _, e := range arr {
		m, err := s.member(r, e)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

func (s *Server) addMembers(r *req, groupID string, ms []store.Member) error {
	for _, m := range ms {
		// Adding a member twice changes nothing (RFC 7644 3.5.2.1).
		if err := s.Directory.AddMember(r.Context(), r.actor, r.tenant.ID, groupID, m); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

func (s *Server) removeMembers(r *req, groupID string, ms []store.Member) error {
	for _, m := range ms {
		if err := s.Directory.RemoveMember(r.Context(), r.actor, r.tenant.ID, groupID, m); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// setMembers makes want the group's direct members.
func (s *Server) setMembers(r *req, groupID string, want []store.Member) error {
	have, err := s.members(r, groupID)
	if err != nil {
		return err
	}
	in := func(list []store.Member, m store.Member) bool {
		for _, x := range list {
			if x == m {
				return true
			}
		}
		return false
	}
	var add, del []store.Member
	for _, m := range want {
		if !in(have, m) && !in(add, m) {
			add = append(add, m)
		}
	}
	for _, m := range have {
		if !in(want, m) {
			del = append(del, m)
		}
	}
	if err := s.removeMembers(r, groupID, del); err != nil {
		return err
	}
	return s.addMembers(r, groupID, add)
}

func groupBody(r *req) (map[string]any, error) {
	doc, err := decodeResource(r, groupAttrs)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text(doc, "displayName")) == "" {
		return nil, bad("invalidValue", "displayName is required.")
	}
	return doc, nil
}

func (s *Server) createGroup(w http.ResponseWriter, r *req) error {
	doc, err := groupBody(r)
	if err != nil {
		return err
	}
	ms, err := s.resolveMembers(r, doc["members"])
	if err != nil {
		return err
	}
	g, err := s.Directory.CreateGroup(r.Context(), r.actor, r.tenant.ID, directory.NewGroup{Name: text(doc, "displayName")})
	if err != nil {
		return err
	}
	if err := s.addMembers(r, g.ID, ms); err != nil {
		return err
	}
	w.Header().Set("Location", r.base+"/Groups/"+g.ID)
	w.Header().Set("ETag", etag(g.Version))
	write(w, http.StatusCreated, r.groupDoc(g, ms))
	return nil
}

func (s *Server) currentGroup(r *req) (*store.Group, error) {
	g, err := s.Directory.GetGroup(r.Context(), r.tenant.ID, r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return g, checkIfMatch(r.Request, g.Version)
}

func (s *Server) getGroup(w http.ResponseWriter, r *req) error {
	g, err := s.Directory.GetGroup(r.Context(), r.tenant.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	proj, err := projection(r.Request)
	if err != nil {
		return err
	}
	var ms []store.Member
	if proj.wants("members") {
		if ms, err = s.members(r, g.ID); err != nil {
			return err
		}
	}
	w.Header().Set("ETag", etag(g.Version))
	write(w, http.StatusOK, proj.apply(r.groupDoc(g, ms)))
	return nil
}

func (s *Server) rename(r *req, g *store.Group, name string) (*store.Group, error) {
	if name == g.Name {
		return g, nil
	}
	return s.Directory.UpdateGroup(r.Context(), r.actor, r.tenant.ID, g.ID, g.Version, directory.GroupPatch{Name: &name})
}

func (s *Server) putGroup(w http.ResponseWriter, r *req) error {
	g, err := s.currentGroup(r)
	if err != nil {
		return err
	}
	doc, err := groupBody(r)
	if err != nil {
		return err
	}
	ms, err := s.resolveMembers(r, doc["members"])
	if err != nil {
		return err
	}
	if g, err = s.rename(r, g, text(doc, "displayName")); err != nil {
		return err
	}
	if err := s.setMembers(r, g.ID, ms); err != nil {
		return err
	}
	w.Header().Set("ETag", etag(g.Version))
	write(w, http.StatusOK, r.groupDoc(g, ms))
	return nil
}

// patchGroup applies member operations one by one through the directory
// (each is audited) and a rename at the end; it answers 204.
func (s *Server) patchGroup(w http.ResponseWriter, r *req) error {
	g, err := s.currentGroup(r)
	if err != nil {
		return err
	}
	ops, err := decodePatch(r)
	if err != nil {
		return err
	}
	name := g.Name
	// Flatten no-path operations into one per attribute.
	var flat []patchOp
	for _, op := range ops {
		if strings.TrimSpace(op.Path) != "" {
			flat = append(flat, op)
			continue
		}
		m, ok := op.Value.(map[string]any)
		if !ok || op.Op == "remove" {
			return bad("invalidValue", "Without a path, value is an object of attributes.")
		}
		for k, v := range m {
			flat = append(flat, patchOp{Op: op.Op, Path: k, Value: v})
		}
	}
	for _, op := range flat {
		pp, err := scimfilter.ParsePath(op.Path)
		if err != nil {
			return syntaxError("invalidPath", "path", err)
		}
		if pp.Attr.URI != "" && !strings.EqualFold(pp.Attr.URI, URIGroup) {
			return bad("invalidPath", "Unknown schema "+pp.Attr.URI+".")
		}
		switch strings.ToLower(pp.Attr.Name) {
		case "displayname":
			v, ok := op.Value.(string)
			if op.Op == "remove" || !ok {
				return bad("invalidValue", "displayName is a required string.")
			}
			name = v
		case "externalid":
			// Not kept: groups are matched by displayName and id.
		case "id":
			if v, _ := op.Value.(string); v != g.ID || op.Op == "remove" {
				return bad("mutability", "id is read-only.")
			}
		case "members":
			if err := s.patchMembers(r, g.ID, op, pp); err != nil {
				return err
			}
		case "meta", "schemas":
			return bad("mutability", pp.Attr.Name+" is read-only.")
		default:
			return bad("invalidPath", "Unknown attribute "+pp.Attr.Name+".")
		}
	}
	if _, err := s.rename(r, g, name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) patchMembers(r *req, groupID string, op patchOp, pp *scimfilter.PatchPath) error {
	if pp.Attr.Sub != "" || pp.Sub != "" {
		return bad("invalidPath", "Members are added, replaced or removed whole.")
	}
	if pp.Filter != nil {
		if op.Op != "remove" {
			return bad("invalidPath", "A filtered members path can only be removed.")
		}
		have, err := s.members(r, groupID)
		if err != nil {
			return err
		}
		var del []store.Member
		for _, m := range have {
			typ := "User"
			if m.Type == store.MemberGroup {
				typ = "Group"
			}
			ok, err := evalFilter(pp.Filter, map[string]any{"value": m.ID, "type": typ})
			if err != nil {
				return err
			}
			if ok {
				del = append(del, m)
			}
		}
		return s.removeMembers(r, groupID, del)
	}
	var vals []any
	if op.Value != nil {
		nv, err := normalize(groupAttrs.sub("members"), op.Value, "members")
		if err != nil {
			return err
		}
		vals = nv.([]any)
	}
	switch op.Op {
	case "add":
		ms, err := s.resolveMembers(r, vals)
		if err != nil {
			return err
		}
		return s.addMembers(r, groupID, ms)
	case "replace":
		ms, err := s.resolveMembers(r, vals)
		if err != nil {
			return err
		}
		return s.setMembers(r, groupID, ms)
	}
	if op.Value == nil {
		return s.setMembers(r, groupID, nil)
	}
	var del []store.Member
	for _, v := range vals {
		m, _ := v.(map[string]any)
		id := text(m, "value")
		del = append(del, store.Member{Type: store.MemberUser, ID: id}, store.Member{Type: store.MemberGroup, ID: id})
	}
	return s.removeMembers(r, groupID, del)
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *req) error {
	g, err := s.currentGroup(r)
	if err != nil {
		return err
	}
	if err := s.Directory.DeleteGroup(r.Context(), r.actor, r.tenant.ID, g.ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) groups(w http.ResponseWriter, r *req, p *listParams) error {
	q, start, pr, err := p.parse()
	if err != nil {
		return err
	}
	groups, total, err := s.Directory.FilterGroups(r.Context(), r.tenant.ID, q)
	if err != nil {
		return err
	}
	out := make([]any, 0, len(groups))
	for i := range groups {
		var ms []store.Member
		if pr.wants("members") {
			if ms, err = s.members(r, groups[i].ID); err != nil {
				return err
			}
		}
		out = append(out, pr.apply(r.groupDoc(&groups[i], ms)))
	}
	write(w, http.StatusOK, listResponse(start, total, out))
	return nil
}
