package configcode

import (
	"encoding/json"
	"maps"

	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// The MFA policy raises the tenant's policy for logins at some clients and
// for members of some groups; the service keys those maps by id. A file
// keys them by the client's and the group's name, so it means the same in
// every installation: the names are translated here, both ways.

// idNames answers the tenant's client and group names by id.
func (l *live) idNames() (clients, groups map[string]string) {
	groups = map[string]string{}
	for name, o := range l.objects["groups"] {
		groups[o.id] = name
	}
	return l.clientNames, groups
}

// mfaToNames rewrites set's MFA client and group keys from ids to names;
// an id of nothing known stays as it is.
func mfaToNames(set *tenancy.Settings, clients, groups map[string]string) {
	set.MFA.Clients = rekey(set.MFA.Clients, clients)
	set.MFA.Groups = rekey(set.MFA.Groups, groups)
}

func rekey(m, names map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		if n, ok := names[k]; ok {
			k = n
		}
		out[k] = v
	}
	return out
}

// mfaToIDs rewrites the declared settings' MFA client and group names to
// ids (clients and groups map names to ids, created ones included); a key
// that names nothing is answered in unknown, for a problem.
func mfaToIDs(settings map[string]any, clients, groups map[string]string) (json.RawMessage, []string, error) {
	out := maps.Clone(settings)
	var unknown []string
	if mfa, ok := settings["mfa"].(map[string]any); ok {
		mfa = maps.Clone(mfa)
		for field, ids := range map[string]map[string]string{"clients": clients, "groups": groups} {
			m, ok := mfa[field].(map[string]any)
			if !ok {
				continue
			}
			byID := make(map[string]any, len(m))
			for name, policy := range m {
				id, found := ids[name]
				if !found {
					unknown = append(unknown, "mfa."+field+"."+name)
					continue
				}
				byID[id] = policy
			}
			mfa[field] = byID
		}
		out["mfa"] = mfa
	}
	raw, err := json.Marshal(out)
	return raw, unknown, err
}
