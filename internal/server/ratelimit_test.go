package server

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/ratelimit/redistest"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// setRateLimits sets a tenant's settings.rate_limits.
func (ta *testApp) setRateLimits(tn store.TenantID, limits string) {
	ta.t.Helper()
	if _, err := ta.Tenants.UpdateTenant(context.Background(), testActor, tn, 0,
		tenancy.TenantPatch{Settings: json.RawMessage(`{"rate_limits":` + limits + `}`)}); err != nil {
		ta.t.Fatalf("set rate limits %s: %v", limits, err)
	}
}

// ccClient registers a client_credentials client of tn and answers the
// form and credentials of its token request.
func (ta *testApp) ccClient(tn store.TenantID) (id, secret string) {
	ta.t.Helper()
	c, sec := ta.registered(tn, oauthclient.NewClient{Name: "svc", GrantTypes: []string{"client_credentials"}})
	return c.ID, sec
}

// limited is one answer of a limited endpoint.
type limited struct {
	status                    int
	policy, limit, retryAfter string
	body                      map[string]any
	contentType               string
	elapsed                   time.Duration
}

// tokenRequest posts a client_credentials grant to base's token endpoint
// of slug.
func tokenRequest(t *testing.T, c *http.Client, base, slug, id, secret string) limited {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/t/"+slug+"/oauth/token",
		strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	return send(t, c, req)
}

func send(t *testing.T, c *http.Client, req *http.Request) limited {
	t.Helper()
	start := time.Now()
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	l := limited{status: res.StatusCode, policy: res.Header.Get("RateLimit-Policy"), limit: res.Header.Get("RateLimit"),
		retryAfter: res.Header.Get("Retry-After"), contentType: res.Header.Get("Content-Type"), elapsed: time.Since(start)}
	_ = json.Unmarshal(raw, &l.body)
	return l
}

var (
	policyRE = regexp.MustCompile(`^"tenant";q=(\d+);w=1$`)
	limitRE  = regexp.MustCompile(`^"tenant";r=(\d+);t=(\d+)$`)
)

// checkHeaders checks l's RateLimit-Policy and RateLimit fields against
// the structured-field syntax of draft-ietf-httpapi-ratelimit-headers,
// for a policy of q per second, and on a 429 its Retry-After.
func checkHeaders(t *testing.T, l limited, q int) {
	t.Helper()
	m := policyRE.FindStringSubmatch(l.policy)
	if m == nil || m[1] != strconv.Itoa(q) {
		t.Fatalf("RateLimit-Policy %q, want \"tenant\";q=%d;w=1", l.policy, q)
	}
	m = limitRE.FindStringSubmatch(l.limit)
	if m == nil {
		t.Fatalf("RateLimit %q is not \"tenant\";r=N;t=N", l.limit)
	}
	r, _ := strconv.Atoi(m[1])
	if r > q {
		t.Fatalf("RateLimit remaining %d above the quota %d", r, q)
	}
	switch l.status {
	case http.StatusTooManyRequests:
		ra, err := strconv.Atoi(l.retryAfter)
		if err != nil || ra < 1 {
			t.Fatalf("429 with Retry-After %q, want a positive delay-seconds", l.retryAfter)
		}
		if r != 0 || m[2] != l.retryAfter {
			t.Fatalf("429 with RateLimit %q, want r=0 and t equal to Retry-After %s", l.limit, l.retryAfter)
		}
	default:
		if l.retryAfter != "" {
			t.Fatalf("status %d with Retry-After %q", l.status, l.retryAfter)
		}
	}
}

// TestRateLimitHeaders: on one node with a fixed clock, a tenant limited
// to 2 requests per second on each surface gets two answers, then 429
// with Retry-After and the RateLimit fields, in the envelope of the
// surface (OAuth JSON, SCIM error, problem+json); another tenant is
// untouched and an unlimited one gets no RateLimit fields.
func TestRateLimitHeaders(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		at := time.Now().UTC()
		ta := openApp(t, testConfig(t, be.db(t)), Options{Now: func() time.Time { return at }})
		acme, other := ta.tenant("acme"), ta.tenant("other")
		ta.setRateLimits(acme.ID, `{"api_rps":2,"token_rps":2,"scim_rps":2}`)
		id, secret := ta.ccClient(acme.ID)
		oid, osecret := ta.ccClient(other.ID)
		key := ta.key(acme.ID, tenancy.ScopeAdmin, tenancy.ScopeSCIM)
		c := ta.srv.Client()
		get := func(path string) limited {
			req, _ := http.NewRequest(http.MethodGet, ta.srv.URL+path, nil)
			req.Header.Set("Authorization", "Bearer "+key)
			return send(t, c, req)
		}
		for _, s := range []struct {
			name  string
			do    func() limited
			ctype string
			check func(body map[string]any) bool
		}{
			{"token", func() limited { return tokenRequest(t, c, ta.srv.URL, "acme", id, secret) }, "application/json",
				func(b map[string]any) bool { return b["error"] == "temporarily_unavailable" }},
			{"scim", func() limited { return get("/t/acme/scim/v2/Users") }, "application/scim+json",
				func(b map[string]any) bool { return b["status"] == "429" }},
			{"api", func() limited { return get("/api/v1/tenants/acme/users") }, "application/problem+json",
				func(b map[string]any) bool { return b["type"] == "urn:gatehouse:problem:rate-limited" }},
		} {
			for i := range 2 {
				l := s.do()
				if l.status != http.StatusOK {
					t.Fatalf("%s request %d: %d %v, want 200", s.name, i+1, l.status, l.body)
				}
				checkHeaders(t, l, 2)
			}
			l := s.do()
			if l.status != http.StatusTooManyRequests || !strings.HasPrefix(l.contentType, s.ctype) || !s.check(l.body) {
				t.Fatalf("%s past the limit: %d %s %v, want 429 in the surface's envelope", s.name, l.status, l.contentType, l.body)
			}
			checkHeaders(t, l, 2)
		}
		// The same tenant by id on the API shares the bucket.
		if l := get("/api/v1/tenants/" + string(acme.ID) + "/users"); l.status != http.StatusTooManyRequests {
			t.Fatalf("API by tenant id past the limit: %d, want 429", l.status)
		}
		if l := tokenRequest(t, c, ta.srv.URL, "other", oid, osecret); l.status != http.StatusOK || l.policy != "" || l.limit != "" {
			t.Fatalf("unlimited tenant: %d with RateLimit-Policy %q RateLimit %q, want 200 and no fields", l.status, l.policy, l.limit)
		}
		// Without rate_limits in its settings, a tenant's plan sets the limit.
		planned := ta.tenant("planned")
		platform := ta.key(store.PlatformTenant, tenancy.ScopeAdmin)
		ta.mustAPI("POST", "/api/v1/plans", platform, map[string]any{"name": "metered", "limits": map[string]any{"api_rps": 2}})
		// Set in the store: an API call naming the tenant would read (and
		// cache, under this fixed clock) its limit before the plan is set.
		if err := ta.DB.Usage().SetTenantPlan(context.Background(), planned.ID, "metered"); err != nil {
			t.Fatal(err)
		}
		pid, psecret := ta.ccClient(planned.ID)
		for i := range 2 {
			if l := tokenRequest(t, c, ta.srv.URL, "planned", pid, psecret); l.status != http.StatusOK {
				t.Fatalf("planned tenant request %d: %d, want 200", i+1, l.status)
			}
		}
		if l := tokenRequest(t, c, ta.srv.URL, "planned", pid, psecret); l.status != http.StatusTooManyRequests {
			t.Fatalf("planned tenant past its plan's api_rps: %d, want 429", l.status)
		}
		// A bad limit is refused and changes nothing.
		if _, err := ta.Tenants.UpdateTenant(context.Background(), testActor, acme.ID, 0,
			tenancy.TenantPatch{Settings: json.RawMessage(`{"rate_limits":{"token_rps":-1}}`)}); err == nil {
			t.Fatal("token_rps -1 accepted")
		}
	})
}

// percentile answers the p-th percentile (0..100) of ds.
func percentile(ds []time.Duration, p int) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(0, min(len(s)-1, i-1))]
}

// noisyFigures are what one noisy-neighbour run measured.
type noisyFigures struct {
	acceptedRate           float64 // A's admitted requests per second past its burst
	quietP99, loadedP99    time.Duration
	accepted, refused, cap int
}

// noisyNeighbour floods tenant A's token endpoint across nodes at several
// times A's limit of rps, while tenant B makes sequential token requests:
// first with A quiet, then while A floods, in alternating rounds. Every
// loop is bounded in count and time; everything is on 127.0.0.1.
func noisyNeighbour(t *testing.T, nodes []*testApp, rps int, run int) noisyFigures {
	t.Helper()
	ta := nodes[0]
	noisy, quietSlug := fmt.Sprintf("noisy%d", run), fmt.Sprintf("quiet%d", run)
	a, b := ta.tenant(noisy), ta.tenant(quietSlug)
	ta.setRateLimits(a.ID, fmt.Sprintf(`{"token_rps":%d}`, rps))
	ta.setRateLimits(b.ID, `{"token_rps":100000}`)
	aid, asecret := ta.ccClient(a.ID)
	bid, bsecret := ta.ccClient(b.ID)
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	defer c.CloseIdleConnections()

	const (
		rounds   = 5
		samples  = 80              // B's requests per phase
		flood    = 2 * time.Second // one flood
		workers  = 4               // A's senders, spread over the nodes
		interval = 20 * time.Millisecond
	)
	bRequests := func(n int) []time.Duration {
		out := make([]time.Duration, 0, n)
		for i := range n {
			l := tokenRequest(t, c, nodes[i%len(nodes)].srv.URL, quietSlug, bid, bsecret)
			if l.status != http.StatusOK {
				t.Fatalf("tenant B: %d %v, want 200", l.status, l.body)
			}
			out = append(out, l.elapsed)
		}
		return out
	}
	bRequests(20) // warm connections and caches
	var f noisyFigures
	// Quiet and flooded phases alternate, and each pools its samples over
	// every round, so load from outside the test weighs on both alike.
	var quiet, loaded []time.Duration
	for range rounds {
		refilled := time.Now().Add(1100 * time.Millisecond) // A's bucket back to its burst
		quiet = append(quiet, bRequests(samples)...)
		time.Sleep(time.Until(refilled))

		var ok, refused, other atomic.Int64
		var wg sync.WaitGroup
		start := time.Now()
		end := start.Add(flood)
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				node := nodes[w%len(nodes)]
				for i := 0; i < int(flood/interval)+1 && time.Now().Before(end); i++ {
					switch tokenRequest(t, c, node.srv.URL, noisy, aid, asecret).status {
					case http.StatusOK:
						ok.Add(1)
					case http.StatusTooManyRequests:
						refused.Add(1)
					default:
						other.Add(1)
					}
					time.Sleep(interval)
				}
			}()
		}
		time.Sleep(100 * time.Millisecond)
		loaded = append(loaded, bRequests(samples)...)
		wg.Wait()
		took := time.Since(start)
		if other.Load() != 0 {
			t.Fatalf("tenant A: %d answers neither 200 nor 429", other.Load())
		}
		f.accepted += int(ok.Load())
		f.refused += int(refused.Load())
		f.acceptedRate += (float64(ok.Load()) - float64(rps)) / took.Seconds() / rounds
	}
	f.quietP99, f.loadedP99 = percentile(quiet, 99), percentile(loaded, 99)
	f.cap = rps
	t.Logf("tenant A limit %d/s: admitted %.1f/s past its burst (%d admitted, %d refused in %d floods of %s); tenant B p99 over %d requests quiet %s, under A's flood %s (ratio %.2f; p50 %s and %s)",
		rps, f.acceptedRate, f.accepted, f.refused, rounds, flood, len(quiet), f.quietP99, f.loadedP99,
		float64(f.loadedP99)/float64(f.quietP99), percentile(quiet, 50), percentile(loaded, 50))
	return f
}

// checkNoisy runs noisyNeighbour on nodes and holds it to the bounds: A
// refused, its admitted rate within 10% of its limit; B's p99 within 1.2x
// of its quiet p99. The latency bound is measured on a machine shared with
// other work, so a miss is measured once more, with fresh tenants, before
// it fails the test (without the race detector); the rate bound is never
// retried.
func checkNoisy(t *testing.T, nodes []*testApp, rps int) {
	t.Helper()
	for run := 1; ; run++ {
		f := noisyNeighbour(t, nodes, rps, run)
		if f.refused == 0 {
			t.Fatal("tenant A was never refused")
		}
		if d := f.acceptedRate/float64(f.cap) - 1; d > 0.1 || d < -0.1 {
			t.Fatalf("tenant A admitted %.1f/s, want within 10%% of its limit %d/s", f.acceptedRate, f.cap)
		}
		if float64(f.loadedP99) <= 1.2*float64(f.quietP99) {
			return
		}
		if raceEnabled {
			// The race detector multiplies every call's cost, and with it
			// the scheduling noise the latency bound measures: logged only.
			t.Logf("tenant B p99 %s under A's flood against %s quiet: not held to 1.2x under the race detector", f.loadedP99, f.quietP99)
			return
		}
		if run == 2 {
			t.Fatalf("tenant B p99 %s under A's flood, above 1.2x its quiet %s (second run)", f.loadedP99, f.quietP99)
		}
		t.Logf("tenant B p99 %s under A's flood, above 1.2x its quiet %s: measuring once more", f.loadedP99, f.quietP99)
	}
}

// twoNodes opens two Apps on one configuration (one database, one master
// key), as two nodes of one deployment.
func twoNodes(t *testing.T, dsn, redisURL string) []*testApp {
	cfg := testConfig(t, dsn)
	cfg.RedisURL = config.Secret(redisURL)
	return []*testApp{openApp(t, cfg), openApp(t, cfg)}
}

// TestRateLimitNoisyNeighbour: tenant A flooding the token endpoint is
// held to its limit across nodes (buckets in the database or in Redis),
// and tenant B's latency does not suffer from it.
func TestRateLimitNoisyNeighbour(t *testing.T) {
	if testing.Short() {
		t.Skip("timed load test")
	}
	const rps = 40
	t.Run("sqlite", func(t *testing.T) {
		checkNoisy(t, []*testApp{openApp(t, testConfig(t, ""))}, rps)
	})
	t.Run("postgres", func(t *testing.T) {
		checkNoisy(t, twoNodes(t, sqltest.PostgresDSN(t), ""), rps)
	})
	t.Run("redis", func(t *testing.T) {
		checkNoisy(t, twoNodes(t, sqltest.PostgresDSN(t), redistest.Start(t)), rps)
	})
}
