package api

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

type groupOut struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Version     int64     `json:"version"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func groupJSON(g *store.Group) groupOut {
	return groupOut{g.ID, g.Name, g.Description, g.Version, g.CreatedAt, g.UpdatedAt}
}

func groupID(g *store.Group) string { return g.ID }

func groupVersion(g *store.Group) int64 { return g.Version }

type memberOut struct {
	Type store.MemberType `json:"type"`
	ID   string           `json:"id"`
}

// memberIn names a user or a group to add; exactly one of the two.
type memberIn struct {
	UserID  string `json:"user_id,omitempty"`
	GroupID string `json:"group_id,omitempty"`
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request, c *call) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	gs, err := a.Directory.ListGroups(r.Context(), c.tenant.ID, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, gs, groupID, groupJSON))
	return nil
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	var in directory.NewGroup
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	g, err := a.Directory.CreateGroup(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/tenants/"+c.tenant.Slug+"/groups/"+g.ID, g.Version, groupJSON(g))
	return nil
}

func (a *API) getGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	return getByID(w, r, c, a.Directory.GetGroup, groupVersion, groupJSON)
}

func (a *API) updateGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	return patchByID(a, w, r, c, a.Directory.UpdateGroup, groupVersion, groupJSON)
}

func (a *API) deleteGroup(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Directory.DeleteGroup)
}

func (a *API) listMembers(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := page(r)
	if err != nil {
		return err
	}
	ms, err := a.Directory.ListMembers(r.Context(), c.tenant.ID, id, p)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(p, ms,
		func(m *store.Member) string { return m.ID },
		func(m *store.Member) memberOut { return memberOut{m.Type, m.ID} }))
	return nil
}

func (a *API) addMember(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in memberIn
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	m, err := in.member()
	if err != nil {
		return err
	}
	if err := a.Directory.AddMember(r.Context(), c.actor, c.tenant.ID, id, m); err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, memberOut{m.Type, m.ID})
	return nil
}

func (in memberIn) member() (store.Member, error) {
	switch {
	case in.UserID != "" && in.GroupID == "":
		if !idRE.MatchString(in.UserID) {
			return store.Member{}, valid.Field("user_id", "invalid", "user_id is a user id.")
		}
		return store.Member{Type: store.MemberUser, ID: in.UserID}, nil
	case in.GroupID != "" && in.UserID == "":
		if !idRE.MatchString(in.GroupID) {
			return store.Member{}, valid.Field("group_id", "invalid", "group_id is a group id.")
		}
		return store.Member{Type: store.MemberGroup, ID: in.GroupID}, nil
	}
	return store.Member{}, valid.Field("user_id", "required", "Give exactly one of user_id and group_id.")
}

// removeMember: DELETE .../members/{member}?type=group removes a nested
// group; users are the default.
func (a *API) removeMember(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	mid, err := pathID(r, "member")
	if err != nil {
		return err
	}
	m := store.Member{Type: store.MemberUser, ID: mid}
	switch r.URL.Query().Get("type") {
	case "", "user":
	case "group":
		m.Type = store.MemberGroup
	default:
		return valid.Field("type", "invalid", "type is user or group.")
	}
	if err := a.Directory.RemoveMember(r.Context(), c.actor, c.tenant.ID, id, m); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
