package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// userOut is a user as the API shows it: never the password hash.
type userOut struct {
	ID            string           `json:"id"`
	Email         string           `json:"email"`
	Username      string           `json:"username,omitempty"`
	GivenName     string           `json:"given_name,omitempty"`
	FamilyName    string           `json:"family_name,omitempty"`
	Phone         string           `json:"phone,omitempty"`
	Locale        string           `json:"locale,omitempty"`
	Status        store.UserStatus `json:"status"`
	EmailVerified bool             `json:"email_verified"`
	PhoneVerified bool             `json:"phone_verified"`
	Attributes    json.RawMessage  `json:"attributes"`
	HasPassword   bool             `json:"has_password"`
	Version       int64            `json:"version"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
	LastLoginAt   *time.Time       `json:"last_login_at,omitempty"`
}

func userJSON(u *store.User) userOut {
	return userOut{
		ID: u.ID, Email: u.Email, Username: u.Username, GivenName: u.GivenName,
		FamilyName: u.FamilyName, Phone: u.Phone, Locale: u.Locale, Status: u.Status,
		EmailVerified: u.EmailVerified, PhoneVerified: u.PhoneVerified, Attributes: u.Attributes,
		HasPassword: u.PasswordHash != "", Version: u.Version, CreatedAt: u.CreatedAt,
		UpdatedAt: u.UpdatedAt, LastLoginAt: u.LastLoginAt,
	}
}

func userID(u *store.User) string { return u.ID }

func userVersion(u *store.User) int64 { return u.Version }

var attrKeyRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// userQuery reads the search parameters of GET .../users; unknown ones are
// refused so a typo does not silently list everyone.
func userQuery(r *http.Request) (store.UserQuery, error) {
	p, err := page(r)
	if err != nil {
		return store.UserQuery{}, err
	}
	q := store.UserQuery{Page: p}
	var c valid.Collector
	for k, vs := range r.URL.Query() {
		v := vs[0]
		if len(vs) > 1 {
			c.Add(k, "invalid", "Give this parameter once.")
			continue
		}
		if len(v) > 256 {
			c.Add(k, "too_long", "This parameter is too long.")
			continue
		}
		if v == "" {
			continue // an empty parameter filters nothing
		}
		switch {
		case k == "limit" || k == "cursor":
		case k == "email":
			q.EmailNorm = directory.NormalizeEmail(v)
		case k == "username":
			q.UsernameNorm = directory.NormalizeUsername(v)
		case k == "status":
			q.Status = store.UserStatus(v)
			if !q.Status.Valid() {
				c.Add("status", "invalid", "status is one of active, disabled, locked.")
			}
		case k == "group":
			if !idRE.MatchString(v) {
				c.Add("group", "invalid", "group is a group id.")
			}
			q.GroupID = v
		case k == "transitive":
			if v != "true" && v != "false" {
				c.Add("transitive", "invalid", "transitive is true or false.")
			}
			q.Transitive = v == "true"
		case k == "q":
			q.Prefix = strings.ToLower(strings.TrimSpace(v))
		case strings.HasPrefix(k, "attr."):
			key := strings.TrimPrefix(k, "attr.")
			if !attrKeyRE.MatchString(key) || q.AttrKey != "" {
				c.Add(k, "invalid", "Filter on one attribute, attr.NAME=value, with a plain name.")
			}
			q.AttrKey, q.AttrValue = key, v
		default:
			c.Add(k, "unknown", "Unknown query parameter.")
		}
	}
	return q, c.Err()
}

func (a *API) listUsers(w http.ResponseWriter, r *http.Request, c *call) error {
	q, err := userQuery(r)
	if err != nil {
		return err
	}
	us, err := a.Directory.SearchUsers(r.Context(), c.tenant.ID, q)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(q.Page, us, userID, userJSON))
	return nil
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request, c *call) error {
	var in directory.NewUser
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	u, err := a.Directory.CreateUser(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	writeCreated(w, "/api/v1/tenants/"+c.tenant.Slug+"/users/"+u.ID, u.Version, userJSON(u))
	return nil
}

func (a *API) getUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return getByID(w, r, c, a.Directory.GetUser, userVersion, userJSON)
}

func (a *API) updateUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return patchByID(a, w, r, c, a.Directory.UpdateUser, userVersion, userJSON)
}

func (a *API) deleteUser(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Directory.DeleteUser)
}

func (a *API) userGroups(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	tr := r.URL.Query().Get("transitive")
	if tr != "" && tr != "true" && tr != "false" {
		return valid.Field("transitive", "invalid", "transitive is true or false.")
	}
	gs, err := a.Directory.UserGroups(r.Context(), c.tenant.ID, id, tr == "true")
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, makeList(store.Page{Limit: len(gs) + 1}, gs, groupID, groupJSON))
	return nil
}
