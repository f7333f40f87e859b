package web

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// detailView is one RFC 9396 authorization details object as the consent
// page shows it: its type (and the type's description), then its fields,
// the common ones (RFC 9396 section 2.2) under translated labels.
type detailView struct {
	Title string
	Lines []string
}

// commonDetailFields are RFC 9396's common fields and their labels.
var commonDetailFields = []struct{ name, key string }{
	{"actions", "rar.actions"}, {"locations", "rar.locations"}, {"datatypes", "rar.datatypes"},
	{"identifier", "rar.identifier"},
}

// consentDetails answers the authorization details of an OIDC request,
// nil for none.
func (p *Pages) consentDetails(ctx context.Context, f ui.Frame, t *store.Tenant, ar *store.LoginRequest) []detailView {
	if ar.Origin != flow.OriginOIDC {
		return nil
	}
	d, err := p.Store.OAuth().AuthorizationDetails().GetDetails(ctx, t.ID, ar.Return)
	if err != nil {
		return nil
	}
	var objs []map[string]any
	if json.Unmarshal(d.Details, &objs) != nil {
		return nil
	}
	out := make([]detailView, 0, len(objs))
	for _, o := range objs {
		typ, _ := o["type"].(string)
		v := detailView{Title: f.T("rar.type", "type", typ)}
		if dt, err := p.Store.OAuth().AuthorizationDetails().GetDetailType(ctx, t.ID, typ); err == nil && dt.Description != "" {
			v.Title += " (" + dt.Description + ")"
		}
		for _, c := range commonDetailFields {
			if x, ok := o[c.name]; ok {
				v.Lines = append(v.Lines, f.T(c.key, c.name, detailText(x)))
			}
		}
		var rest []string
		for k := range o {
			if k != "type" && !slices.ContainsFunc(commonDetailFields, func(c struct{ name, key string }) bool { return c.name == k }) {
				rest = append(rest, k)
			}
		}
		slices.Sort(rest)
		for _, k := range rest {
			v.Lines = append(v.Lines, k+": "+detailText(o[k]))
		}
		out = append(out, v)
	}
	return out
}

// detailText shows a value: strings as they are, lists joined by commas,
// anything else as compact JSON.
func detailText(x any) string {
	switch v := x.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, e := range v {
			parts = append(parts, detailText(e))
		}
		return strings.Join(parts, ", ")
	case float64:
		return fmt.Sprint(v)
	}
	b, _ := json.Marshal(x)
	return string(b)
}
