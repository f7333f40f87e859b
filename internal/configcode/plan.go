package configcode

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"sort"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Plan actions.
const (
	ActionCreate = "create"
	ActionUpdate = "update"
	ActionDelete = "delete"
)

// Plan is what applying a configuration would change, tenant by tenant.
type Plan struct {
	Tenants []TenantPlan `json:"tenants"`
}

// TenantPlan is one tenant's changes. Kept lists the objects of managed
// kinds that the files do not declare and that stay without --prune.
type TenantPlan struct {
	Slug    string   `json:"slug"`
	Changes []Change `json:"changes"`
	Kept    []string `json:"kept,omitempty"`
}

// Change is one object to create, update or delete. Kind is tenant,
// settings, client, saml_sp, connection, role or group; Key is the object's
// matching key; Fields are the changed fields (all given fields on
// creation). ID is the object's id once applied.
type Change struct {
	Action string        `json:"action"`
	Kind   string        `json:"kind"`
	Key    string        `json:"key"`
	Fields []FieldChange `json:"fields,omitempty"`
	ID     string        `json:"id,omitempty"`

	list string
	decl *Decl
}

// FieldChange is one field's value before and after. A secret shows as
// its reference, never its value.
type FieldChange struct {
	Field  string `json:"field"`
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// Count answers the number of changes of every tenant.
func (p *Plan) Count() (create, update, del int) {
	for _, t := range p.Tenants {
		for _, c := range t.Changes {
			switch c.Action {
			case ActionCreate:
				create++
			case ActionUpdate:
				update++
			case ActionDelete:
				del++
			}
		}
	}
	return create, update, del
}

// Empty reports whether the plan changes nothing.
func (p *Plan) Empty() bool {
	c, u, d := p.Count()
	return c+u+d == 0
}

// isZero reports whether v is a JSON zero value (absent fields are zero).
func isZero(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case float64:
		return x == 0
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func sameValue(a, b any) bool {
	if isZero(a) && isZero(b) {
		return true
	}
	return reflect.DeepEqual(a, b)
}

// secretFields are fields whose declared value is a reference to a secret.
var secretFields = map[string]bool{"client_secret": true}

// diffTenant computes td's changes against l (nil: the tenant is new).
func (r *run) diffTenant(ctx context.Context, td *TenantDecl, l *live) (TenantPlan, error) {
	tp := TenantPlan{Slug: td.Slug, Changes: []Change{}}
	if l == nil {
		tp.Changes = append(tp.Changes, Change{Action: ActionCreate, Kind: "tenant", Key: td.Slug,
			Fields: []FieldChange{{Field: "name", After: td.Name}}})
	} else if td.Name != "" && td.Name != l.tenant.Name {
		tp.Changes = append(tp.Changes, Change{Action: ActionUpdate, Kind: "tenant", Key: td.Slug,
			Fields: []FieldChange{{Field: "name", Before: l.tenant.Name, After: td.Name}}})
	}
	for _, k := range kinds {
		decls, managed := td.objects[k.list]
		if !managed {
			continue
		}
		declared := map[string]bool{}
		for _, d := range decls {
			declared[d.Key] = true
			var have *liveObj
			if l != nil {
				have = l.objects[k.list][d.Key]
			}
			ch, err := r.diffObject(ctx, td, l, k, d, have)
			if err != nil {
				return tp, err
			}
			if ch != nil {
				tp.Changes = append(tp.Changes, *ch)
			}
		}
		if l == nil {
			continue
		}
		for _, key := range l.order[k.list] {
			if declared[key] {
				continue
			}
			if r.opt.Prune {
				tp.Changes = append(tp.Changes, Change{Action: ActionDelete, Kind: k.noun, Key: key,
					ID: l.objects[k.list][key].id, list: k.list})
			} else {
				tp.Kept = append(tp.Kept, k.noun+" "+key)
			}
		}
	}
	if td.settings != nil {
		ch, err := settingsChange(td, l)
		if err != nil {
			return tp, err
		}
		if ch != nil {
			tp.Changes = append(tp.Changes, *ch)
		}
	}
	return tp, nil
}

// diffObject compares one declared object with the live one (nil: new).
func (r *run) diffObject(ctx context.Context, td *TenantDecl, l *live, k kind, d *Decl, have *liveObj) (*Change, error) {
	fields := slices.Sorted(maps.Keys(d.fields))
	if have == nil {
		ch := &Change{Action: ActionCreate, Kind: k.noun, Key: d.Key, list: k.list, decl: d}
		for _, f := range fields {
			if f == k.key {
				continue
			}
			ch.Fields = append(ch.Fields, FieldChange{Field: f, After: d.fields[f]})
		}
		return ch, nil
	}
	ch := &Change{Action: ActionUpdate, Kind: k.noun, Key: d.Key, ID: have.id, list: k.list, decl: d}
	label := "tenants[" + td.Slug + "]." + k.list + "[" + d.Key + "]"
	for _, f := range fields {
		want, got := d.fields[f], have.fields[f]
		switch {
		case k.list == "connections" && f == "type" && want != got:
			r.ps.add(d.line(f), label+".type", "the type of a connection is fixed: declare it under a new name")
			continue
		case k.list == "clients" && f == "public" && !sameValue(want, got):
			r.ps.add(d.line(f), label+".public", "whether a client is public is fixed at creation: declare it under a new name")
			continue
		case k.list == "connections" && secretFields[f]:
			changed, err := r.secretChanged(have, want)
			if err != nil {
				return nil, err
			}
			if changed {
				before, after := secretBefore(got), want
				if got == want {
					before, after = fmt.Sprint(got, " (current value)"), fmt.Sprint(want, " (new value)")
				}
				ch.Fields = append(ch.Fields, FieldChange{Field: f, Before: before, After: after})
			}
			continue
		case k.list == "groups" && f == "members":
			m, err := groupMembers(ctx, r.svc, l.tenant.ID, have.id)
			if err != nil {
				return nil, err
			}
			got = m
		}
		if !sameValue(want, got) {
			ch.Fields = append(ch.Fields, FieldChange{Field: f, Before: got, After: want})
		}
	}
	if len(ch.Fields) == 0 {
		return nil, nil
	}
	return ch, nil
}

// secretChanged reports whether the live secret differs from the one
// the reference resolves to.
func (r *run) secretChanged(have *liveObj, ref any) (bool, error) {
	s, _ := ref.(string)
	if have.fields["client_secret"] != ref {
		return true, nil
	}
	cur, err := r.svc.Connections.Secret(have.conn)
	if err != nil {
		return false, fmt.Errorf("connection %s: open its secret: %w", have.conn.Name, err)
	}
	return cur != r.secrets[s], nil
}

// secretBefore shows the live secret: its reference, or that one is set.
func secretBefore(got any) any {
	if s, _ := got.(string); s != "" {
		return s
	}
	return "(set outside the files)"
}

// settingsChange overlays the declared settings on the live ones and
// lists the leaves that differ.
func settingsChange(td *TenantDecl, l *live) (*Change, error) {
	// Each side is parsed afresh: decoding into a struct merges into its
	// maps, which must not be the live ones.
	fresh := func() (tenancy.Settings, error) {
		if l == nil {
			return tenancy.DefaultSettings(), nil
		}
		return tenancy.ParseSettings(l.tenant.Settings)
	}
	base, err := fresh()
	if err != nil {
		return nil, err
	}
	after, err := fresh()
	if err != nil {
		return nil, err
	}
	if l != nil {
		clients, groups := l.idNames()
		mfaToNames(&base, clients, groups)
		mfaToNames(&after, clients, groups)
	}
	if err := roundTrip(td.settings, &after); err != nil {
		return nil, err
	}
	var cur, want map[string]any
	if err := roundTrip(base, &cur); err != nil {
		return nil, err
	}
	if err := roundTrip(after, &want); err != nil {
		return nil, err
	}
	before, afterLeaves := map[string]any{}, map[string]any{}
	flatten("settings", cur, before)
	flatten("settings", want, afterLeaves)
	keys := slices.Collect(maps.Keys(afterLeaves))
	for k := range before {
		if _, ok := afterLeaves[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	ch := &Change{Action: ActionUpdate, Kind: "settings", Key: td.Slug}
	for _, k := range keys {
		if !sameValue(before[k], afterLeaves[k]) {
			ch.Fields = append(ch.Fields, FieldChange{Field: k, Before: before[k], After: afterLeaves[k]})
		}
	}
	if len(ch.Fields) == 0 {
		return nil, nil
	}
	return ch, nil
}

// flatten writes the leaves of m (lists are leaves) under dotted keys.
func flatten(prefix string, v any, out map[string]any) {
	m, ok := v.(map[string]any)
	if !ok || len(m) == 0 {
		out[prefix] = v
		return
	}
	for k, sub := range m {
		flatten(prefix+"."+k, sub, out)
	}
}

// errRollback ends a transaction that must not commit (a plan).
var errRollback = errors.New("configcode: plan only")

// tenantBySlug answers the live tenant, or nil when there is none.
func (r *run) tenantBySlug(ctx context.Context, slug string) (*store.Tenant, error) {
	t, err := r.svc.Tenants.Resolve(ctx, slug)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return t, err
}
