package server

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/metrics"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// maxTenantLabels bounds the tenants named in a metric's tenant label:
// the first ones seen keep their slug, every later one counts as "other",
// so a deployment with many tenants has a bounded number of series.
const maxTenantLabels = 50

// domainStats are the counters of what Gatehouse does (logins, tokens,
// rate-limit refusals), fed by hooks set when the services are built and
// exported at scrape time beside the HTTP metrics.
type domainStats struct {
	mu          sync.Mutex
	logins      map[[2]string]float64 // result, method
	tokens      map[string]float64    // grant type
	rateLimited map[string]float64    // tenant slug or "other"
}

func newDomainStats() *domainStats {
	s := &domainStats{logins: map[[2]string]float64{}, tokens: map[string]float64{}, rateLimited: map[string]float64{"other": 0}}
	// The common series exist from the start, so dashboards and alerts
	// see zeros instead of absent series.
	for _, r := range []string{"success", "failure"} {
		s.logins[[2]string{r, "password"}] = 0
	}
	for _, g := range []string{"authorization_code", "refresh_token", "client_credentials"} {
		s.tokens[g] = 0
	}
	return s
}

// login counts one login by result and method.
func (s *domainStats) login(result, method string) {
	s.mu.Lock()
	s.logins[[2]string{result, method}]++
	s.mu.Unlock()
}

// meterTap takes the usage meter's counters: failed password logins and
// tokens by grant (successful logins are counted with their method when
// the session is created).
func (s *domainStats) meterTap(metric string, n int64) {
	switch {
	case metric == store.MetricLoginsFailed:
		s.mu.Lock()
		s.logins[[2]string{"failure", "password"}] += float64(n)
		s.mu.Unlock()
	case strings.HasPrefix(metric, store.MetricTokensPrefix):
		s.mu.Lock()
		s.tokens[strings.TrimPrefix(metric, store.MetricTokensPrefix)] += float64(n)
		s.mu.Unlock()
	}
}

// refused counts one request refused by the per-tenant rate limit.
func (s *domainStats) refused(t *store.Tenant, _ string) {
	s.mu.Lock()
	label := t.Slug
	if _, ok := s.rateLimited[label]; !ok && len(s.rateLimited) > maxTenantLabels {
		label = "other"
	}
	s.rateLimited[label]++
	s.mu.Unlock()
}

// loginMethod names a session's way in from its AMR values.
func loginMethod(amr []string) string {
	switch {
	case slices.Contains(amr, "hwk") || slices.Contains(amr, "swk"):
		return "passkey"
	case slices.Contains(amr, "fed"):
		return "federated"
	case slices.Contains(amr, "pwd"):
		return "password"
	case len(amr) > 0:
		return amr[0]
	}
	return "other"
}

// registerDomainMetrics adds the domain series to reg (docs/observability.md
// lists them; docs/grafana-dashboard.json and docs/prometheus-alerts.yml
// use them).
func (a *App) registerDomainMetrics(reg *metrics.Registry) {
	s := a.stats
	reg.NewCounterVecFunc("gatehouse_logins_total", "Logins by result (success, failure) and method.",
		[]string{"result", "method"}, func(emit metrics.EmitFunc) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for k, v := range s.logins {
				emit(v, k[0], k[1])
			}
		})
	reg.NewCounterVecFunc("gatehouse_tokens_issued_total", "Tokens issued at the token endpoint by grant type.",
		[]string{"grant"}, func(emit metrics.EmitFunc) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for k, v := range s.tokens {
				emit(v, k)
			}
		})
	reg.NewCounterVecFunc("gatehouse_ratelimit_rejections_total",
		"Requests refused by the per-tenant rate limit, by tenant (the first 50 tenants by slug, the rest as other).",
		[]string{"tenant"}, func(emit metrics.EmitFunc) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for k, v := range s.rateLimited {
				emit(v, k)
			}
		})
	reg.NewGaugeFunc("gatehouse_password_hashes_in_flight", "Password hash computations (argon2id and imported schemes) running.", func() float64 {
		n, _ := credential.HashLoad()
		return float64(n)
	})
	reg.NewGaugeFunc("gatehouse_password_hashes_queued", "Password hash computations (argon2id and imported schemes) waiting for a slot.", func() float64 {
		_, n := credential.HashLoad()
		return float64(n)
	})
	reg.NewCounterVecFunc("gatehouse_cache_requests_total", "Lookups of the in-process caches by cache and result (hit, miss).",
		[]string{"cache", "result"}, func(emit metrics.EmitFunc) {
			h, m := a.Tenants.SlugCacheStats()
			emit(float64(h), "tenant_slug", "hit")
			emit(float64(m), "tenant_slug", "miss")
			h, m = a.Domains.HostCacheStats()
			emit(float64(h), "custom_domain", "hit")
			emit(float64(m), "custom_domain", "miss")
		})
	backlogs := &backlogCache{db: a.DB, now: a.now}
	reg.NewGaugeVecFunc("gatehouse_queue_depth", "Unfinished items of the outgoing queues (mail, events).",
		[]string{"queue"}, func(emit metrics.EmitFunc) {
			m, e := backlogs.get()
			emit(float64(m.Depth), "mail")
			emit(float64(e.Depth), "events")
		})
	reg.NewGaugeVecFunc("gatehouse_queue_oldest_age_seconds", "Age of the oldest unfinished item of each outgoing queue (0 when empty).",
		[]string{"queue"}, func(emit metrics.EmitFunc) {
			m, e := backlogs.get()
			now := a.now()
			emit(age(now, m), "mail")
			emit(age(now, e), "events")
		})
}

func age(now time.Time, b store.Backlog) float64 {
	if b.Depth == 0 || b.Oldest.IsZero() {
		return 0
	}
	return max(0, now.Sub(b.Oldest).Seconds())
}

// backlogCache reads the queue backlogs at most once a second, so the two
// series of one scrape cost two queries and frequent scrapes cost no more.
type backlogCache struct {
	db   store.Store
	now  func() time.Time
	mu   sync.Mutex
	at   time.Time
	mail store.Backlog
	evts store.Backlog
}

func (c *backlogCache) get() (store.Backlog, store.Backlog) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if now := c.now(); now.Sub(c.at) >= time.Second {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if m, err := c.db.Queues().Mail(ctx); err == nil {
			c.mail = m
		}
		if e, err := c.db.Queues().Events(ctx); err == nil {
			c.evts = e
		}
		c.at = now
	}
	return c.mail, c.evts
}
