package console

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// One person's page: profile, status, groups, roles, sessions, factors,
// linked identities and audit trail, with the actions the viewer may take
// (user_actions.go); and the profile editor, schema-aware.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/users/{id}", Perm: authz.PermRead, Handle: c.userShow},
			{Method: "GET", Path: "/users/{id}/edit", Perm: authz.PermAdmin, Handle: c.userEditForm},
			{Method: "POST", Path: "/users/{id}", Perm: authz.PermAdmin, Handle: c.userUpdate},
		}
	})
}

var (
	userTmpl     = parse("user.html")
	userEditTmpl = parse("user_edit.html", "user_fields.html")
)

// pathUser reads {id} and answers the user of the tenant managed.
func (c *Console) pathUser(r *http.Request, rq *Request) (*store.User, error) {
	id := r.PathValue("id")
	if !idRE.MatchString(id) {
		return nil, store.ErrNotFound
	}
	return c.Directory.GetUser(rq.Context(), rq.Tenant.ID, id)
}

// attrRow is one attribute as the page shows it.
type attrRow struct{ Key, Label, Value string }

type userData struct {
	U          *store.User
	Attributes []attrRow
	Groups     []store.Group
	AllGroups  []store.Group
	Roles      authz.Effective
	Direct     []roleAssignment
	AllRoles   []store.Role
	Sessions   []store.Session
	Factors    *mfa.Summary
	Identities []connection.LinkedIdentity
	Audit      []store.AuditEntry
	Self       bool
	// What the viewer may do.
	CanAdmin, CanSupport, CanAudit bool
}

// roleAssignment is a direct assignment with its role's name.
type roleAssignment struct {
	RoleID, Role string
}

// userShow: GET /users/{id}.
func (c *Console) userShow(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	ctx, tid := rq.Context(), rq.Tenant.ID
	d := userData{U: u, CanAdmin: rq.Can(authz.PermAdmin), CanSupport: rq.Can(authz.PermSupport),
		CanAudit: rq.Can(authz.PermAudit), Self: rq.User.ID == u.ID && rq.Home.ID == rq.Tenant.ID}
	sc, _ := tenancy.ProfileSchemaOf(rq.Tenant)
	d.Attributes = attributeRows(u.Attributes, sc, rq.Lang)
	if d.Groups, err = c.Directory.UserGroups(ctx, tid, u.ID, false); err != nil {
		return err
	}
	if d.Roles, err = c.Authz.EffectiveRoles(ctx, tid, u.ID); err != nil {
		return err
	}
	as, err := c.Authz.ListAssignments(ctx, tid, store.AssignmentQuery{UserID: u.ID, Page: store.Page{Limit: 200}})
	if err != nil {
		return err
	}
	for _, a := range as {
		if ro, err := c.Authz.GetRole(ctx, tid, a.RoleID); err == nil {
			d.Direct = append(d.Direct, roleAssignment{RoleID: ro.ID, Role: ro.Name})
		}
	}
	if d.CanAdmin {
		if d.AllRoles, err = c.Authz.ListRoles(ctx, tid, "", store.Page{Limit: 200}); err != nil {
			return err
		}
		if d.AllGroups, err = c.Directory.ListGroups(ctx, tid, store.Page{Limit: 200}); err != nil {
			return err
		}
	}
	if d.Sessions, err = c.Sessions.List(ctx, tid, u.ID); err != nil {
		return err
	}
	if d.Factors, err = c.MFA.List(ctx, tid, u.ID); err != nil {
		return err
	}
	if c.Connections != nil {
		if d.Identities, err = c.Connections.Identities(ctx, tid, u.ID); err != nil {
			return err
		}
	}
	if d.CanAudit {
		if d.Audit, err = c.userAudit(rq, u.ID); err != nil {
			return err
		}
	}
	return rq.Render(w, http.StatusOK, userTmpl, "console.user.title", d)
}

// userAudit answers the newest entries about the user or made by them,
// personal data opened (internal/privacy).
func (c *Console) userAudit(rq *Request, userID string) ([]store.AuditEntry, error) {
	const n = 25
	ctx := rq.Context()
	about, err := c.Audit.ListAudit(ctx, rq.Tenant.ID, store.AuditQuery{TargetID: userID, Limit: n})
	if err != nil {
		return nil, err
	}
	by, err := c.Audit.ListAudit(ctx, rq.Tenant.ID, store.AuditQuery{ActorID: userID, Limit: n})
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var es []store.AuditEntry
	for _, e := range append(about, by...) {
		if !seen[e.Seq] {
			seen[e.Seq] = true
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return es[i].Seq > es[j].Seq })
	if len(es) > n {
		es = es[:n]
	}
	if err := c.Privacy.OpenAudit(ctx, es); err != nil {
		return nil, err
	}
	return es, nil
}

// attributeRows lists the user's attributes, schema fields first with
// their labels.
func attributeRows(raw json.RawMessage, sc profileschema.Schema, lang string) []attrRow {
	attrs := map[string]any{}
	_ = json.Unmarshal(raw, &attrs)
	var out []attrRow
	for _, f := range sc.Fields {
		if v, ok := attrs[f.Name]; ok {
			out = append(out, attrRow{Key: f.Name, Label: f.LabelFor(lang), Value: attrText(v)})
			delete(attrs, f.Name)
		}
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, attrRow{Key: k, Label: k, Value: attrText(attrs[k])})
	}
	return out
}

func attrText(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// schemaInput is one profile-schema field in the editor.
type schemaInput struct {
	profileschema.Field
	Label, Value string
	Checked      bool
}

type userEditData struct {
	U            *store.User
	Email        string
	Username     string
	GivenName    string
	FamilyName   string
	Phone        string
	Locale       string
	Schema       []schemaInput
	ExtraJSON    string
	HasSchemaAny bool
}

// editData fills the editor from u (or, after a refused post, the form).
func editData(u *store.User, sc profileschema.Schema, lang string, form map[string][]string) userEditData {
	d := userEditData{U: u, Email: u.Email, Username: u.Username, GivenName: u.GivenName, FamilyName: u.FamilyName,
		Phone: u.Phone, Locale: u.Locale}
	attrs := map[string]any{}
	_ = json.Unmarshal(u.Attributes, &attrs)
	get := func(k, def string) string {
		if form == nil {
			return def
		}
		if v, ok := form[k]; ok && len(v) > 0 {
			return v[0]
		}
		return ""
	}
	d.Email, d.Username, d.GivenName = get("email", d.Email), get("username", d.Username), get("given_name", d.GivenName)
	d.FamilyName, d.Phone, d.Locale = get("family_name", d.FamilyName), get("phone", d.Phone), get("locale", d.Locale)
	for _, f := range sc.Fields {
		in := schemaInput{Field: f, Label: f.LabelFor(lang)}
		if v, ok := attrs[f.Name]; ok {
			in.Value = attrText(v)
			in.Checked = v == true
		}
		if form != nil {
			in.Value = get("attr."+f.Name, "")
			in.Checked = get("attr."+f.Name, "") != ""
		}
		d.Schema = append(d.Schema, in)
		delete(attrs, f.Name)
	}
	if len(attrs) > 0 {
		b, _ := json.MarshalIndent(attrs, "", "  ")
		d.ExtraJSON = string(b)
	}
	d.ExtraJSON = get("attributes_json", d.ExtraJSON)
	d.HasSchemaAny = len(d.Schema) > 0
	return d
}

// userEditForm: GET /users/{id}/edit.
func (c *Console) userEditForm(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	sc, _ := tenancy.ProfileSchemaOf(rq.Tenant)
	return rq.Render(w, http.StatusOK, userEditTmpl, "console.user.edit", editData(u, sc, rq.Lang, nil))
}

// userUpdate: POST /users/{id} saves the profile and attributes through
// the directory (the API's PATCH rules: the tenant's profile schema
// checks the attributes). The version read by the form guards against a
// change made meanwhile.
func (c *Console) userUpdate(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	f := r.PostForm
	sc, _ := tenancy.ProfileSchemaOf(rq.Tenant)
	refused := func(err error) error {
		return rq.RenderForm(w, http.StatusBadRequest, userEditTmpl, "console.user.edit", editData(u, sc, rq.Lang, f), err)
	}
	patch, err := attributesPatch(u.Attributes, sc, f)
	if err != nil {
		return refused(err)
	}
	str := func(k string) *string { v := strings.TrimSpace(f.Get(k)); return &v }
	p := directory.UserPatch{Email: str("email"), Username: str("username"), GivenName: str("given_name"),
		FamilyName: str("family_name"), Phone: str("phone"), Locale: str("locale"), Attributes: patch}
	if *p.Email == u.Email {
		p.Email = nil // unchanged: an address predating today's rules stays editable
	}
	if *p.Username == u.Username {
		p.Username = nil
	}
	if _, err := c.Directory.UpdateUser(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID, versionOf(f.Get("version")), p); err != nil {
		if _, ok := FieldErrors(err); ok {
			return refused(err)
		}
		return err
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.saved")
}

// attributesPatch builds the RFC 7396 merge patch of the editor: schema
// fields from their inputs, the rest from the JSON object, keys removed
// from it set to null.
func attributesPatch(current json.RawMessage, sc profileschema.Schema, f map[string][]string) (json.RawMessage, error) {
	cur := map[string]any{}
	_ = json.Unmarshal(current, &cur)
	first := func(k string) (string, bool) {
		v, ok := f[k]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
	patch := map[string]any{}
	inSchema := map[string]bool{}
	for _, fd := range sc.Fields {
		inSchema[fd.Name] = true
		sent, present := first("attr." + fd.Name)
		patch[fd.Name] = profileschema.FormValue(fd, sent, present)
	}
	extra := map[string]any{}
	if raw, _ := first("attributes_json"); strings.TrimSpace(raw) != "" {
		if err := json.Unmarshal([]byte(raw), &extra); err != nil {
			return nil, valid.Field("attributes_json", "invalid", "Other attributes must be a JSON object.")
		}
	}
	for k, v := range extra {
		if inSchema[k] {
			return nil, valid.Field("attributes_json", "invalid", "\""+k+"\" is a profile field: use its own input.")
		}
		patch[k] = v
	}
	for k := range cur {
		if _, kept := extra[k]; !kept && !inSchema[k] {
			patch[k] = nil
		}
	}
	return json.Marshal(patch)
}
