package console

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The users pages: search and page through a tenant's users with the same
// query and cursor as GET /api/v1/tenants/{tenant}/users, and create one
// with the same rules as POST .../users. The person's own page is
// user.go.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/users", Perm: authz.PermRead, Nav: "console.nav.users", Order: 10, Handle: c.usersList},
			{Method: "GET", Path: "/users/new", Perm: authz.PermAdmin, Handle: c.userNewForm},
			{Method: "POST", Path: "/users", Perm: authz.PermAdmin, Handle: c.userCreate},
		}
	})
}

var (
	usersTmpl   = parse("users.html")
	userNewTmpl = parse("user_new.html", "user_fields.html")
)

// pageSize is how many rows a console list shows.
const pageSize = 50

var idRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// cursor reads the "after" parameter: the API's cursor (base64url of the
// last id shown). An unreadable one starts from the beginning.
func cursor(r *http.Request) string {
	b, err := base64.RawURLEncoding.DecodeString(r.URL.Query().Get("after"))
	if err != nil || !idRE.Match(b) {
		return ""
	}
	return string(b)
}

func nextCursor(id string) string { return base64.RawURLEncoding.EncodeToString([]byte(id)) }

type usersData struct {
	Q, Email, Username, Status, Group string
	Groups                            []store.Group
	Users                             []store.User
	Next                              string // the next page's URL, "" on the last
	CanCreate                         bool
}

// usersList: GET /users?q=&email=&username=&status=&group=&after=.
func (c *Console) usersList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	in := r.URL.Query()
	d := usersData{Q: in.Get("q"), Email: in.Get("email"), Username: in.Get("username"),
		Status: in.Get("status"), Group: in.Get("group"), CanCreate: rq.Can(authz.PermAdmin)}
	q := store.UserQuery{Page: store.Page{Limit: pageSize, After: cursor(r)}}
	var vc valid.Collector
	for name, v := range map[string]string{"q": d.Q, "email": d.Email, "username": d.Username, "group": d.Group} {
		if len(v) > 256 {
			vc.Add(name, "too_long", "This is too long.")
		}
	}
	if d.Q != "" {
		q.Prefix = strings.ToLower(strings.TrimSpace(d.Q))
	}
	if d.Email != "" {
		q.EmailNorm = directory.NormalizeEmail(d.Email)
	}
	if d.Username != "" {
		q.UsernameNorm = directory.NormalizeUsername(d.Username)
	}
	if d.Status != "" {
		q.Status = store.UserStatus(d.Status)
		if !q.Status.Valid() {
			vc.Add("status", "invalid", "Choose a status from the list.")
		}
	}
	if d.Group != "" {
		if !idRE.MatchString(d.Group) {
			vc.Add("group", "invalid", "Choose a group from the list.")
		}
		q.GroupID, q.Transitive = d.Group, true
	}
	gs, err := c.Directory.ListGroups(rq.Context(), rq.Tenant.ID, store.Page{Limit: 200})
	if err != nil {
		return err
	}
	d.Groups = gs
	if err := vc.Err(); err != nil {
		return rq.RenderForm(w, http.StatusBadRequest, usersTmpl, "console.users.title", d, err)
	}
	us, err := c.Directory.SearchUsers(rq.Context(), rq.Tenant.ID, q)
	if err != nil {
		return err
	}
	d.Users = us
	if len(us) == pageSize {
		next := url.Values{}
		for k, v := range map[string]string{"q": d.Q, "email": d.Email, "username": d.Username, "status": d.Status, "group": d.Group} {
			if v != "" {
				next.Set(k, v)
			}
		}
		next.Set("after", nextCursor(us[len(us)-1].ID))
		d.Next = rq.Base + "/users?" + next.Encode()
	}
	return rq.Render(w, http.StatusOK, usersTmpl, "console.users.title", d)
}

// userForm is the create form's input, kept to show it again.
type userForm struct {
	Email, Username, GivenName, FamilyName, Phone, Locale string
	EmailVerified, Invite                                 bool
}

func (c *Console) userNewForm(w http.ResponseWriter, r *http.Request, rq *Request) error {
	return rq.Render(w, http.StatusOK, userNewTmpl, "console.users.new", userForm{Invite: true})
}

// userCreate: POST /users creates the user through the directory (the
// API's rules), then mails an invitation when asked and no password was
// set.
func (c *Console) userCreate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	f := r.PostForm
	in := userForm{Email: strings.TrimSpace(f.Get("email")), Username: strings.TrimSpace(f.Get("username")),
		GivenName: strings.TrimSpace(f.Get("given_name")), FamilyName: strings.TrimSpace(f.Get("family_name")),
		Phone: strings.TrimSpace(f.Get("phone")), Locale: f.Get("locale"),
		EmailVerified: f.Get("email_verified") == "on", Invite: f.Get("invite") == "on"}
	nu := directory.NewUser{Email: in.Email, Username: in.Username, GivenName: in.GivenName, FamilyName: in.FamilyName,
		Phone: in.Phone, Locale: in.Locale, EmailVerified: in.EmailVerified}
	if pw := f.Get("password"); pw != "" {
		nu.Password = &pw
	}
	u, err := c.Directory.CreateUser(rq.Context(), rq.Actor, rq.Tenant.ID, nu)
	if err != nil {
		return rq.RenderForm(w, http.StatusBadRequest, userNewTmpl, "console.users.new", in, err)
	}
	flash := "console.users.created"
	if in.Invite && nu.Password == nil {
		if _, err := c.SelfService.Invite(rq.Context(), rq.Actor, rq.Tenant,
			selfservice.NewInvitation{Email: u.Email, Locale: u.Locale}); err != nil {
			return err
		}
		flash = "console.users.created_invited"
	}
	return rq.Redirect(w, "/users/"+u.ID, flash)
}
