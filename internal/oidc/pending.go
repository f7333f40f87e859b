package oidc

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// An unauthenticated caller creates an authorization request (about 4 KiB
// stored) with every /authorize. Two bounds keep that from filling the
// database: a request nobody opened lives unopenedTTL (the login page
// extends it to flow.OpenedTTL when it first shows it), and one source
// network (an IPv4 address, an IPv6 /64) may hold at most
// maxPendingPerSource live, unfinished requests per tenant; past that
// /authorize answers 429 with Retry-After, and stores nothing.
const (
	unopenedTTL         = 10 * time.Minute
	maxPendingPerSource = 200
)

type sourceKey struct{}

// withSource carries the client's source network to storage.
func withSource(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, sourceKey{}, flow.SourceNetwork(httpx.ClientIP(r)))
}

func sourceFrom(ctx context.Context) string {
	s, _ := ctx.Value(sourceKey{}).(string)
	return s
}

// pendingOver answers 429 and reports true when the request's source
// holds maxPendingPerSource live requests of the tenant already.
func (p *Provider) pendingOver(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	src, t := sourceFrom(ctx), tenantFrom(ctx)
	if src == "" || t == nil {
		return false
	}
	n, err := p.store.OAuth().AuthRequests().CountPendingAuthRequests(ctx, t.ID, src, p.now())
	if err != nil {
		p.log.ErrorContext(ctx, "oidc: count pending requests", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return true
	}
	if n < maxPendingPerSource {
		return false
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(unopenedTTL.Seconds())))
	http.Error(w, "too many sign-ins in progress from this address; try again later", http.StatusTooManyRequests)
	return true
}
