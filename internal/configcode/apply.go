package configcode

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// applier makes one tenant's changes.
type applier struct {
	*run
	td      *TenantDecl
	tenant  store.TenantID
	clients map[string]string // client name -> id, created ones included
	groups  map[string]string // group name -> id, created ones included
}

// applyTenant makes tp's changes in order: the tenant, then each kind's
// creations and updates (clients before the roles that name them), then
// deletions in the reverse order, then the settings. A refusal by a
// service is recorded as a problem and the next change is tried, so one
// run reports every problem; any other error ends the run.
func (r *run) applyTenant(ctx context.Context, td *TenantDecl, l *live, tp *TenantPlan) error {
	a := &applier{run: r, td: td, clients: map[string]string{}, groups: map[string]string{}}
	if l != nil {
		a.tenant = l.tenant.ID
		for id, name := range l.clientNames {
			a.clients[name] = id
		}
		for name, o := range l.objects["groups"] {
			a.groups[name] = o.id
		}
	}
	var deletes []int
	for i := range tp.Changes {
		ch := &tp.Changes[i]
		var err error
		switch {
		case ch.Action == ActionDelete:
			deletes = append(deletes, i)
			continue
		case ch.Kind == "settings":
			continue
		case ch.Kind == "tenant":
			if err := a.refused(ch, a.tenantChange(ctx, ch)); err != nil {
				return err
			}
			if a.tenant == "" {
				return nil // the tenant could not be created: nothing in it can be
			}
			continue
		default:
			err = a.object(ctx, ch)
		}
		if err := a.refused(ch, err); err != nil {
			return err
		}
	}
	for j := len(deletes) - 1; j >= 0; j-- {
		ch := &tp.Changes[deletes[j]]
		if err := a.refused(ch, a.delete(ctx, ch)); err != nil {
			return err
		}
	}
	for i := range tp.Changes {
		if ch := &tp.Changes[i]; ch.Kind == "settings" {
			raw, unknown, err := mfaToIDs(td.settings, a.clients, a.groups)
			if err != nil {
				return err
			}
			// The unknown names are left out, so the service still checks
			// the rest of the settings.
			for _, k := range unknown {
				r.ps.add(a.settingsAt(), "tenants["+td.Slug+"].settings."+k, "no client or group of this tenant has this name")
			}
			_, err = r.svc.Tenants.UpdateTenant(ctx, r.opt.Actor, a.tenant, 0, tenancy.TenantPatch{Settings: raw})
			if err := a.refused(ch, err); err != nil {
				return err
			}
		}
	}
	return nil
}

// refused records a service's validation refusal of ch as problems and
// answers nil; other errors are answered as they are.
func (a *applier) refused(ch *Change, err error) error {
	var ve *valid.Error
	var vc *valid.Conflict
	label := "tenants[" + a.td.Slug + "]"
	at := a.td.at
	if ch.decl != nil {
		label += "." + ch.list + "[" + ch.Key + "]"
		at = ch.decl.at
	} else if ch.Kind == "settings" {
		label += ".settings"
		at = a.settingsAt()
	}
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			where := at
			if ch.decl != nil {
				top, _, _ := strings.Cut(f.Field, ".")
				where = ch.decl.line(top)
			}
			field := strings.TrimPrefix(f.Field, "settings.")
			a.ps.add(where, label+"."+field, "%s", f.Message)
		}
		return nil
	case errors.As(err, &vc):
		// The database refused the write: on PostgreSQL the transaction
		// can take no further statement, so the run ends here.
		a.ps.add(at, label+"."+vc.Field, "%s", vc.Error())
		return a.ps.err()
	case errors.Is(err, store.ErrNotFound) && ch.decl != nil:
		a.ps.add(at, label, "refers to something that does not exist")
		return nil
	}
	return fmt.Errorf("%s %s %q: %w", ch.Action, ch.Kind, ch.Key, err)
}

// settingsAt is where the tenant's settings are declared.
func (a *applier) settingsAt() pos {
	at := a.td.at
	if l, ok := a.td.lines["settings"]; ok {
		at.line = l
	}
	return at
}

func (a *applier) tenantChange(ctx context.Context, ch *Change) error {
	actor := a.opt.Actor
	if ch.Action == ActionCreate {
		t, err := a.svc.Tenants.CreateTenant(ctx, actor, tenancy.NewTenant{Slug: a.td.Slug, Name: a.td.Name})
		if err != nil {
			return err
		}
		a.tenant, ch.ID = t.ID, string(t.ID)
		return nil
	}
	name := a.td.Name
	_, err := a.svc.Tenants.UpdateTenant(ctx, actor, a.tenant, 0, tenancy.TenantPatch{Name: &name})
	return err
}

// input answers the service input of ch: every declared field on
// creation, the changed fields on update; the matching key is always set
// on creation. Roles' application names become client ids; a connection's
// secret reference becomes its value and is kept as its reference.
func (a *applier) input(ch *Change, out any) error {
	m := map[string]any{}
	if ch.Action == ActionCreate {
		for k, v := range ch.decl.fields {
			m[k] = v
		}
	} else {
		for _, f := range ch.Fields {
			m[f.Field] = ch.decl.fields[f.Field]
		}
	}
	delete(m, "members")
	if app, ok := m["application"].(string); ok && app != "" {
		id, found := a.clients[app]
		if !found {
			a.ps.add(ch.decl.line("application"), "tenants["+a.td.Slug+"].roles["+ch.Key+"].application",
				"no client of this tenant is called %q", app)
			return errSkip
		}
		m["application"] = id
	}
	if ref, ok := m["client_secret"].(string); ok {
		m["client_secret"] = a.secrets[ref]
		m["client_secret_ref"] = ref
	}
	return roundTrip(m, out)
}

// errSkip: input recorded a problem; the change is not attempted.
var errSkip = errors.New("configcode: skipped")

// change creates ch's object with create (given the service's input type
// N) or updates it with update (given its patch type P); a created
// object's id goes on ch.
func change[N, P any](a *applier, ch *Change, create func(N) (string, error), update func(P) error) error {
	if ch.Action == ActionCreate {
		var in N
		if err := a.input(ch, &in); err != nil {
			return err
		}
		id, err := create(in)
		if err == nil {
			ch.ID = id
		}
		return err
	}
	var p P
	if err := a.input(ch, &p); err != nil {
		return err
	}
	return update(p)
}

func (a *applier) object(ctx context.Context, ch *Change) error {
	actor, t := a.opt.Actor, a.tenant
	var err error
	switch ch.list {
	case "clients":
		err = change(a, ch, func(in oauthclient.NewClient) (string, error) {
			c, _, err := a.svc.Clients.CreateClient(ctx, actor, t, in)
			if err != nil {
				return "", err
			}
			a.clients[c.Name] = c.ID
			return c.ID, nil
		}, func(p oauthclient.ClientPatch) error {
			_, err := a.svc.Clients.UpdateClient(ctx, actor, t, ch.ID, 0, p)
			return err
		})
	case "saml_sps":
		err = change(a, ch, func(in samlreg.NewSP) (string, error) {
			sp, err := a.svc.SAMLSPs.Create(ctx, actor, t, in)
			return idOf(sp, err, func(sp *store.SAMLServiceProvider) string { return sp.ID })
		}, func(p samlreg.Patch) error {
			_, err := a.svc.SAMLSPs.Update(ctx, actor, t, ch.ID, 0, p)
			return err
		})
	case "connections":
		err = change(a, ch, func(in connection.NewConnection) (string, error) {
			c, err := a.svc.Connections.Create(ctx, actor, t, in)
			return idOf(c, err, func(c *store.Connection) string { return c.ID })
		}, func(p connection.Patch) error {
			_, err := a.svc.Connections.Update(ctx, actor, t, ch.ID, 0, p)
			return err
		})
	case "roles":
		err = change(a, ch, func(in authz.NewRole) (string, error) {
			r, err := a.svc.Authz.CreateRole(ctx, actor, t, in)
			return idOf(r, err, func(r *store.Role) string { return r.ID })
		}, func(p authz.RolePatch) error {
			_, err := a.svc.Authz.UpdateRole(ctx, actor, t, ch.ID, 0, p)
			return err
		})
	case "groups":
		err = a.group(ctx, ch)
	}
	if errors.Is(err, errSkip) {
		return nil
	}
	return err
}

// idOf answers the id of what a create call answered.
func idOf[T any](v *T, err error, id func(*T) string) (string, error) {
	if err != nil {
		return "", err
	}
	return id(v), nil
}

func (a *applier) group(ctx context.Context, ch *Change) error {
	actor, t := a.opt.Actor, a.tenant
	if ch.Action == ActionCreate {
		var in directory.NewGroup
		if err := a.input(ch, &in); err != nil {
			return err
		}
		g, err := a.svc.Directory.CreateGroup(ctx, actor, t, in)
		if err != nil {
			return err
		}
		ch.ID, a.groups[g.Name] = g.ID, g.ID
	} else {
		var p directory.GroupPatch
		if err := a.input(ch, &p); err != nil {
			return err
		}
		if p.Name != nil || p.Description != nil {
			if _, err := a.svc.Directory.UpdateGroup(ctx, actor, t, ch.ID, 0, p); err != nil {
				return err
			}
		}
	}
	want, declared := ch.decl.fields["members"].([]any)
	if !declared {
		return nil
	}
	have := []any{}
	if ch.Action == ActionUpdate {
		var err error
		if have, err = groupMembers(ctx, a.svc, t, ch.ID); err != nil {
			return err
		}
	}
	return a.members(ctx, ch, have, want)
}

// members adds and removes user members (by email) so the group has want.
func (a *applier) members(ctx context.Context, ch *Change, have, want []any) error {
	inHave, inWant := map[string]bool{}, map[string]bool{}
	for _, e := range have {
		inHave[strings.ToLower(fmt.Sprint(e))] = true
	}
	for _, e := range want {
		inWant[strings.ToLower(fmt.Sprint(e))] = true
	}
	member := func(email string) (store.Member, bool, error) {
		u, err := a.svc.Directory.UserForEmail(ctx, a.tenant, email)
		if errors.Is(err, store.ErrNotFound) {
			a.ps.add(ch.decl.line("members"), "tenants["+a.td.Slug+"].groups["+ch.Key+"].members",
				"no user of this tenant has the email %q", email)
			return store.Member{}, false, nil
		}
		if err != nil {
			return store.Member{}, false, err
		}
		return store.Member{Type: store.MemberUser, ID: u.ID}, true, nil
	}
	for e := range inWant {
		if inHave[e] {
			continue
		}
		m, ok, err := member(e)
		if err != nil {
			return err
		}
		if ok {
			if err := a.svc.Directory.AddMember(ctx, a.opt.Actor, a.tenant, ch.ID, m); err != nil {
				return err
			}
		}
	}
	for e := range inHave {
		if inWant[e] {
			continue
		}
		m, ok, err := member(e)
		if err != nil {
			return err
		}
		if ok {
			if err := a.svc.Directory.RemoveMember(ctx, a.opt.Actor, a.tenant, ch.ID, m); err != nil {
				return err
			}
		}
	}
	return nil
}

func (a *applier) delete(ctx context.Context, ch *Change) error {
	actor, t := a.opt.Actor, a.tenant
	switch ch.list {
	case "clients":
		return a.svc.Clients.DeleteClient(ctx, actor, t, ch.ID)
	case "saml_sps":
		return a.svc.SAMLSPs.Delete(ctx, actor, t, ch.ID)
	case "connections":
		return a.svc.Connections.Delete(ctx, actor, t, ch.ID)
	case "roles":
		return a.svc.Authz.DeleteRole(ctx, actor, t, ch.ID)
	case "groups":
		return a.svc.Directory.DeleteGroup(ctx, actor, t, ch.ID)
	}
	return fmt.Errorf("configcode: cannot delete a %s", ch.Kind)
}
