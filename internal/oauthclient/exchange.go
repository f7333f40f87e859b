package oauthclient

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// maxExchangeEntries bounds each list of a token exchange policy.
const maxExchangeEntries = 20

func cloneExchange(p store.TokenExchangePolicy) store.TokenExchangePolicy {
	return store.TokenExchangePolicy{Audiences: slices.Clone(p.Audiences), Actors: slices.Clone(p.Actors)}
}

// exchangeFields is the policy as the audit log records it.
func exchangeFields(p store.TokenExchangePolicy) map[string]any {
	return map[string]any{"audiences": orEmpty(p.Audiences), "actors": orEmpty(p.Actors)}
}

// checkExchange validates a token exchange policy: audiences are client
// ids or absolute https URIs (resource indicators, RFC 8707: no fragment),
// actors are client ids; at most 20 of each, no duplicates. A policy only
// matters with the token exchange grant, but may be set before it.
func checkExchange(c *valid.Collector, cl *store.Client) {
	p := cl.TokenExchange
	check := func(field string, list []string, uriOK bool) {
		if len(list) > maxExchangeEntries {
			c.Add(field, "too_many", fmt.Sprintf("A list has at most %d entries.", maxExchangeEntries))
			return
		}
		for i, v := range list {
			label := fmt.Sprintf("Entry %d", i+1)
			switch {
			case slices.Contains(list[:i], v):
				c.Add(field, "duplicate", label+" is listed twice.")
			case v == "" || len(v) > MaxURILength || strings.IndexFunc(v, func(r rune) bool { return r <= ' ' || r >= 0x7f }) >= 0:
				c.Add(field, "invalid", label+" is empty, too long or has spaces or control characters.")
			case strings.Contains(v, "://"):
				u, err := url.Parse(v)
				if !uriOK || err != nil || u.Scheme != "https" || u.Host == "" || u.Fragment != "" || u.User != nil {
					c.Add(field, "invalid", label+" is not a client id or an https URI without fragment.")
				} else {
					continue
				}
			default:
				continue
			}
			return
		}
	}
	check("token_exchange.audiences", p.Audiences, true)
	check("token_exchange.actors", p.Actors, false)
	if slices.Contains(p.Actors, cl.ID) && cl.ID != "" {
		c.Add("token_exchange.actors", "invalid", "A client's own tokens are always accepted as actor tokens; do not list it.")
	}
}
