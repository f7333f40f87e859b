package web

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// riskBlocked answers a sign-in the risk policy refused: a page with the
// tenant's support message (or the default one), 403. It reports whether
// err was such a refusal.
func (p *Pages) riskBlocked(w http.ResponseWriter, r *http.Request, t *store.Tenant, err error) bool {
	var b *flow.BlockedError
	if !errors.As(err, &b) {
		return false
	}
	if b.Support != "" {
		p.message(w, r, t, http.StatusForbidden, "risk.blocked_title", "risk.blocked_support", "support", b.Support)
		return true
	}
	p.message(w, r, t, http.StatusForbidden, "risk.blocked_title", "risk.blocked_body")
	return true
}
