package events

import (
	"encoding/json"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// draft is a catalogue event about to be written to the outbox.
type draft struct {
	tenant store.TenantID
	typ    string
	userID string
	data   map[string]any
}

// sameName are audit actions recorded under the catalogue type's own name;
// their data is the entry's changes, each field's new value (its old one
// when it was removed).
var sameName = map[string]bool{
	"consent.granted": true, "consent.withdrawn": true, "preferences.changed": true, "login.risk": true, "user.erased": true,
}

// objectActions map the audit actions of managed objects to catalogue
// types; the data is the object's id and the entry's changes.
var objectActions = map[string]struct{ typ, idField string }{
	"client.create": {"client.created", "client_id"}, "client.update": {"client.updated", "client_id"},
	"client.delete": {"client.deleted", "client_id"}, "client.rotate_secret": {"client.secret_rotated", "client_id"},
	"connection.create": {"connection.created", "connection_id"}, "connection.update": {"connection.updated", "connection_id"},
	"connection.delete": {"connection.deleted", "connection_id"}, "connection.synced": {"connection.synced", "connection_id"},
	"group.create": {"group.created", "group_id"}, "group.update": {"group.updated", "group_id"},
	"group.delete":  {"group.deleted", "group_id"},
	"tenant.create": {"tenant.created", "tenant_id"}, "tenant.update": {"tenant.updated", "tenant_id"},
	"tenant.suspend": {"tenant.suspended", "tenant_id"}, "tenant.resume": {"tenant.resumed", "tenant_id"},
	"tenant.delete": {"tenant.deleted", "tenant_id"}, "tenant.restore": {"tenant.restored", "tenant_id"},
	"tenant.purge": {"tenant.purged", "tenant_id"}, "tenant.plan": {"tenant.plan_changed", "tenant_id"},
}

// fromAudit maps an audit entry to the catalogue events it stands for
// (none for most actions).
func fromAudit(e Entry) []draft {
	user := ""
	if e.TargetType == "user" {
		user = e.TargetID
	}
	one := func(typ string, data map[string]any) []draft {
		if data == nil {
			data = map[string]any{}
		}
		if user != "" {
			data["user_id"] = user
		}
		return []draft{{tenant: e.Tenant, typ: typ, userID: user, data: data}}
	}
	if sameName[e.Action] && user != "" {
		return one(e.Action, changedValues(e.Changes))
	}
	if o, ok := objectActions[e.Action]; ok {
		d := draft{tenant: e.Tenant, typ: o.typ, data: map[string]any{o.idField: e.TargetID, "changes": changesJSON(e.Changes)}}
		// Tenant management is audited in the platform's chain; the event
		// belongs to the tenant it is about, so its webhooks hear it.
		// A purged tenant's rows are all gone, so its purge stays with the
		// platform.
		if e.TargetType == "tenant" && e.TargetID != "" && e.Action != "tenant.purge" {
			d.tenant = store.TenantID(e.TargetID)
		}
		return []draft{d}
	}
	switch e.Action {
	case "user.create":
		return one("user.created", pick(afterValues(e.Changes), "email", "username", "given_name", "family_name", "phone",
			"locale", "status", "email_verified", "attributes"))
	case "user.update":
		return userUpdated(e, one)
	case "user.delete":
		return one("user.deleted", nil)
	case "user.claimed":
		if _, ok := e.Changes["password"]; ok {
			return one("user.password.changed", nil)
		}
	case "mfa.factor.add":
		return one("mfa.enrolled", map[string]any{"factor": e.Changes["factor"].After})
	case "mfa.factor.remove":
		return one("mfa.removed", map[string]any{"factor": e.Changes["factor"].Before})
	case "mfa.reset":
		if n, ok := e.Changes["factors"].Before.(int); ok && n > 0 {
			return one("mfa.removed", map[string]any{"count": n})
		}
	case "consent.revoke":
		for k, c := range e.Changes {
			if client, ok := strings.CutPrefix(k, "consent."); ok {
				return one("consent.withdrawn", map[string]any{"client_id": client, "scopes": c.Before})
			}
		}
	case "connection.login_failed", "connection.legacy_failed":
		return []draft{{tenant: e.Tenant, typ: "login.failed",
			data: map[string]any{"connection_id": e.TargetID, "changes": changesJSON(e.Changes)}}}
	case "group.member.add", "group.member.remove":
		return memberEvent(e)
	case "role.assign", "role.unassign":
		return roleEvent(e)
	case "elevation.approve", "elevation.self_activate", "elevation.revoke":
		return elevationEvent(e)
	case "usage.threshold":
		d := pick(afterValues(e.Changes), "limit", "percent", "used", "max", "month")
		d["plan"] = e.TargetID
		return []draft{{tenant: e.Tenant, typ: "usage.threshold", data: d}}
	}
	return nil
}

// userUpdated answers user.updated for a profile change, and beside it
// user.disabled, user.email.verified and user.password.changed for the
// changes they name.
func userUpdated(e Entry, one func(string, map[string]any) []draft) []draft {
	var out []draft
	profile := Changes{}
	for k, c := range e.Changes {
		switch k {
		case "password", "has_password":
			continue
		}
		profile[k] = c
	}
	if len(profile) > 0 {
		out = append(out, one("user.updated", map[string]any{"changes": changesJSON(profile)})...)
	}
	if st, ok := e.Changes["status"]; ok && st.After == string(store.UserDisabled) {
		out = append(out, one("user.disabled", nil)...)
	}
	if v, ok := e.Changes["email_verified"]; ok && v.After == true {
		data := map[string]any{}
		if em, ok := e.Changes["email"]; ok {
			data["email"] = em.After
		}
		out = append(out, one("user.email.verified", data)...)
	}
	if _, ok := e.Changes["password"]; ok {
		out = append(out, one("user.password.changed", nil)...)
	}
	return out
}

// memberEvent answers group.member.added or .removed; a user member's
// event is keyed by the user, so it follows the user's creation.
func memberEvent(e Entry) []draft {
	typ := "group.member.added"
	if e.Action == "group.member.remove" {
		typ = "group.member.removed"
	}
	var mtype, mid string
	switch m := e.Changes["member"].After.(type) {
	case map[string]string:
		mtype, mid = m["type"], m["id"]
	case map[string]any:
		mtype, _ = m["type"].(string)
		mid, _ = m["id"].(string)
	}
	data := map[string]any{"group_id": e.TargetID, "member_type": mtype, "member_id": mid}
	user := ""
	if mtype == string(store.MemberUser) {
		user = mid
		data["user_id"] = mid
	}
	return []draft{{tenant: e.Tenant, typ: typ, userID: user, data: data}}
}

func roleEvent(e Entry) []draft {
	c := e.Changes["assignment"]
	a, _ := c.After.(map[string]any)
	typ := "role.assigned"
	if e.Action == "role.unassign" {
		a, _ = c.Before.(map[string]any)
		typ = "role.revoked"
	}
	data := map[string]any{"role_id": e.TargetID}
	user := ""
	for k, v := range a {
		switch k {
		case "id":
			data["assignment_id"] = v
		case "role", "privileged", "group_id":
			data[k] = v
		case "user_id":
			data[k] = v
			user, _ = v.(string)
		}
	}
	return []draft{{tenant: e.Tenant, typ: typ, userID: user, data: data}}
}

func elevationEvent(e Entry) []draft {
	v := afterValues(e.Changes)
	typ := "elevation.granted"
	if e.Action == "elevation.revoke" {
		typ = "elevation.ended"
	}
	// Diff leaves unchanged fields out: the user and role come from the
	// side that has them.
	for k, c := range e.Changes {
		if _, ok := v[k]; !ok && c.Before != nil {
			v[k] = c.Before
		}
	}
	data := pick(v, "user_id", "role_id", "role", "expires_at", "reason")
	data["elevation_id"] = e.TargetID
	user, _ := data["user_id"].(string)
	return []draft{{tenant: e.Tenant, typ: typ, userID: user, data: data}}
}

// changedValues maps each changed field to its new value, or its old one
// when the field was removed.
func changedValues(c Changes) map[string]any {
	out := map[string]any{}
	for k, ch := range c {
		if ch.After != nil {
			out[k] = ch.After
		} else {
			out[k] = ch.Before
		}
	}
	return out
}

func afterValues(c Changes) map[string]any {
	out := map[string]any{}
	for k, ch := range c {
		if ch.After != nil {
			out[k] = ch.After
		}
	}
	return out
}

func pick(m map[string]any, keys ...string) map[string]any {
	out := map[string]any{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			// Unset profile fields stay out of the event.
			if raw, isRaw := v.(json.RawMessage); (isRaw && len(raw) == 0) || v == "" {
				continue
			}
			out[k] = v
		}
	}
	return out
}

func changesJSON(c Changes) map[string]Change {
	if c == nil {
		return map[string]Change{}
	}
	return c
}
