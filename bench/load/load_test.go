package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestPercentileNearestRank(t *testing.T) {
	ms := func(vs ...int) []time.Duration {
		out := make([]time.Duration, len(vs))
		for i, v := range vs {
			out[i] = time.Duration(v) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, c := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond}, // rank ceil(2) = 2
		{ms(1, 2, 3, 4), 51, 3 * time.Millisecond}, // rank ceil(2.04) = 3
		{ms(1, 2, 3, 4), 100, 4 * time.Millisecond},
		{ms(1, 2, 3, 4), 0, 1 * time.Millisecond}, // clamped to rank 1
		{hundred, 50, 50 * time.Millisecond},
		{hundred, 90, 90 * time.Millisecond},
		{hundred, 99, 99 * time.Millisecond},
		{hundred, 99.9, 100 * time.Millisecond},
	} {
		if got := percentile(c.sorted, c.p); got != c.want {
			t.Errorf("percentile(%d values, %v) = %v, want %v", len(c.sorted), c.p, got, c.want)
		}
	}
}

func TestCheckTargetRefusesAllButLoopback(t *testing.T) {
	for _, ok := range []string{"http://127.0.0.1:8080", "http://127.0.0.1", "http://127.0.0.1:8080/"} {
		if _, err := checkTarget(ok); err != nil {
			t.Errorf("checkTarget(%q) = %v, want ok", ok, err)
		}
	}
	for _, bad := range []string{
		"http://localhost:8080", "http://10.0.0.1:8080", "http://[::1]:8080", "https://127.0.0.1:8443",
		"http://127.0.0.1.example.com", "http://127.0.0.1@example.com", "http://example.com#@127.0.0.1",
		"http://user@127.0.0.1:8080", "http://127.0.0.2", "http://0x7f000001", "ftp://127.0.0.1",
		"127.0.0.1:8080", "http://127.0.0.1:8080?x=1", "",
	} {
		if _, err := checkTarget(bad); err == nil {
			t.Errorf("checkTarget(%q) accepted", bad)
		}
	}
}

func TestDialerRefusesAllButLoopback(t *testing.T) {
	for _, addr := range []string{"10.0.0.1:80", "[::1]:80", "example.com:80", "127.0.0.2:80"} {
		if err := checkDialAddr("tcp", addr); !errors.Is(err, errNotLoopback) {
			t.Errorf("checkDialAddr(%q) = %v, want refusal", addr, err)
		}
	}
	if err := checkDialAddr("udp", "127.0.0.1:53"); err == nil {
		t.Error("udp accepted")
	}
	if err := checkDialAddr("tcp", "127.0.0.1:80"); err != nil {
		t.Errorf("loopback refused: %v", err)
	}
	// Through the transport: the refusal happens before any dial.
	c := &http.Client{Transport: newTransport(1)}
	_, err := c.Get("http://192.0.2.1:9/")
	if !errors.Is(err, errNotLoopback) {
		t.Errorf("GET to 192.0.2.1 = %v, want refusal", err)
	}
}

func TestRedirectOffLoopbackRefused(t *testing.T) {
	check := stopAt("http://127.0.0.1:9/cb")
	req := func(u string) *http.Request { r, _ := http.NewRequest("GET", u, nil); return r }
	if err := check(req("http://127.0.0.1:9/cb?code=x"), nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("redirect URI: %v, want ErrUseLastResponse", err)
	}
	if err := check(req("http://example.com/"), nil); !errors.Is(err, errNotLoopback) {
		t.Errorf("off-host redirect: %v, want refusal", err)
	}
	if err := check(req("http://127.0.0.1:8080/t/default/login?id=1"), nil); err != nil {
		t.Errorf("server redirect: %v", err)
	}
}

func TestClampEnforcesHardCaps(t *testing.T) {
	c := Config{Duration: 24 * time.Hour, MaxRequests: 1 << 40, Concurrency: 1 << 20, Timeout: time.Hour}.clamp()
	if c.Duration != maxDuration || c.MaxRequests != maxRequests || c.Concurrency != maxConcurrency || c.Timeout != maxTimeout {
		t.Errorf("clamp = %+v", c)
	}
	z := Config{Concurrency: -3}.clamp()
	if z.Duration <= 0 || z.MaxRequests != maxRequests || z.Concurrency != 1 || z.Timeout <= 0 {
		t.Errorf("clamp of zero values = %+v", z)
	}
}

func TestRunStopsAtMaxRequests(t *testing.T) {
	var calls atomic.Int64
	res := Run(context.Background(), Config{Duration: time.Minute, MaxRequests: 1000, Concurrency: 7},
		func(context.Context) error {
			if calls.Add(1)%100 == 0 {
				return errors.New("every hundredth fails")
			}
			return nil
		})
	if calls.Load() != 1000 || res.Requests != 1000 || res.Errors != 10 || len(res.Latencies) != 990 {
		t.Fatalf("calls %d, requests %d, errors %d, latencies %d", calls.Load(), res.Requests, res.Errors, len(res.Latencies))
	}
	if res.FirstErr == nil || res.Elapsed > 10*time.Second {
		t.Fatalf("first error %v, elapsed %v", res.FirstErr, res.Elapsed)
	}
	for i := 1; i < len(res.Latencies); i++ {
		if res.Latencies[i] < res.Latencies[i-1] || res.Latencies[i] < 0 {
			t.Fatal("latencies not sorted or a failure slot left in")
		}
	}
}

func TestRunStopsAtDuration(t *testing.T) {
	start := time.Now()
	res := Run(context.Background(), Config{Duration: 100 * time.Millisecond, MaxRequests: 1_000_000, Concurrency: 4},
		func(ctx context.Context) error {
			time.Sleep(2 * time.Millisecond)
			return nil
		})
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("ran %v, want about 100ms", d)
	}
	if res.Requests == 0 || res.Requests > 400 || res.Errors != 0 {
		t.Fatalf("requests %d errors %d", res.Requests, res.Errors)
	}
	if p := res.Percentile(50); p < 2*time.Millisecond {
		t.Fatalf("p50 %v below the op's sleep", p)
	}
}

// A paced run starts Rate iterations a second however many workers wait,
// and counts none of the slots its workers claimed past the stop.
func TestRunPacesAtRate(t *testing.T) {
	var calls atomic.Int64
	res := Run(context.Background(), Config{Duration: time.Second, MaxRequests: 1_000_000, Concurrency: 8, Rate: 50},
		func(context.Context) error {
			calls.Add(1)
			return nil
		})
	if res.Requests != int(calls.Load()) || res.Requests < 48 || res.Requests > 50 || res.Errors != 0 {
		t.Fatalf("requests %d, calls %d, errors %d; want 50 paced in 1 s", res.Requests, calls.Load(), res.Errors)
	}
	if len(res.Latencies) != res.Requests {
		t.Fatalf("latencies %d for %d requests: a skipped slot counted", len(res.Latencies), res.Requests)
	}
	if res.Elapsed < 950*time.Millisecond || res.Elapsed > 2*time.Second {
		t.Fatalf("elapsed %v, want about 1 s", res.Elapsed)
	}
}

func TestRunCancelsIterationsPastTheTimeout(t *testing.T) {
	start := time.Now()
	res := Run(context.Background(), Config{Duration: 10 * time.Millisecond, MaxRequests: 10, Concurrency: 2, Timeout: 50 * time.Millisecond},
		func(ctx context.Context) error {
			<-ctx.Done() // a server that never answers
			return ctx.Err()
		})
	if d := time.Since(start); d > time.Second {
		t.Fatalf("a hung op kept Run for %v", d)
	}
	if res.Errors != res.Requests || res.Requests == 0 || res.Rate() != 0 {
		t.Fatalf("requests %d errors %d rate %v", res.Requests, res.Errors, res.Rate())
	}
}

func TestParseStatAndStatus(t *testing.T) {
	// A command name with a space and a parenthesis; utime 1234, stime 56.
	stat := "4242 (evil) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 56 0 0 20 0 9 0 100 1000000 500\n"
	if n, err := parseStat(stat); err != nil || n != 1290 {
		t.Fatalf("parseStat = %d, %v; want 1290", n, err)
	}
	if _, err := parseStat("4242 (x) S 1 2"); err == nil {
		t.Fatal("short stat accepted")
	}
	status := "Name:\tgatehouse\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\n"
	if hwm, rss, err := parseStatus(status); err != nil || hwm != 51200 || rss != 40960 {
		t.Fatalf("parseStatus = %d, %d, %v", hwm, rss, err)
	}
	// And the real thing, on this process.
	if _, err := cpuTicks(os.Getpid()); err != nil {
		t.Fatal(err)
	}
	if hwm, rss, err := memKiB(os.Getpid()); err != nil || hwm <= 0 || rss <= 0 {
		t.Fatalf("memKiB(self) = %d, %d, %v", hwm, rss, err)
	}
}

func TestParseLimitsAndCompare(t *testing.T) {
	out := `goos: linux
BenchmarkSignES256/one-2         	    3580	     57857 ns/op
BenchmarkSignES256/parallel-2    	   10000	     40000 ns/op
BenchmarkSignES256/parallel-2    	   10000	     50000 ns/op
BenchmarkSignES256/parallel-2    	   10000	     99000 ns/op
BenchmarkArgon2id/parallel-2     	      91	  31250000 ns/op
PASS
`
	lim, err := parseLimits(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	// The fastest of several runs: noise only slows a limit down.
	if lim["SignES256/parallel"] != 40000 || lim["Argon2id/parallel"] != 31250000 {
		t.Fatalf("limits = %v", lim)
	}
	if _, err := parseLimits(strings.NewReader("PASS\n")); err == nil {
		t.Fatal("no results accepted")
	}
	rs := []report{
		{Scenario: "baseline", Rate: 10000, P50ms: 0.2},
		{Scenario: "client_credentials", Rate: 5000, P50ms: 1, CPUSecondsPer1k: ptr(0.5)},
		{Scenario: "baseline", Rate: 30000, P50ms: 0.3},
		{Scenario: "auth_code", Rate: 16},
	}
	compare(rs, lim)
	cc, ac := rs[1], rs[3]
	if *cc.RateVsBaseline != 0.25 || *cc.P50VsBaseline != 4 || *cc.OfLimit != 0.2 {
		t.Errorf("client_credentials: rate/base %v p50/base %v of limit %v", *cc.RateVsBaseline, *cc.P50VsBaseline, *cc.OfLimit)
	}
	// One signature costs 57.857 µs on one core; the server spent 500 µs.
	if cc.LimitCPUShare == nil || math.Abs(*cc.LimitCPUShare-0.115714) > 1e-6 {
		t.Errorf("client_credentials: limit's CPU share %v", cc.LimitCPUShare)
	}
	if ac := rs[3]; ac.LimitCPUShare != nil {
		t.Errorf("auth_code without server CPU: limit's CPU share %v", *ac.LimitCPUShare)
	}
	if *ac.RateVsBaseline != 16.0/30000 || *ac.OfLimit != 0.5 || ac.Limit != "argon2id hash" {
		t.Errorf("auth_code: rate/base %v of limit %v (%s)", *ac.RateVsBaseline, *ac.OfLimit, ac.Limit)
	}
}

func TestHiddenInputsOfTheLoginPage(t *testing.T) {
	page := `<form method="post" action="/t/default/login">
<input type="hidden" name="csrf" value="abc-_123">
<input type="hidden" name="id" value="0193&#43;x">
<input id="identifier" name="identifier" type="text">`
	if got := hiddenInput(page, "csrf"); got != "abc-_123" {
		t.Errorf("csrf = %q", got)
	}
	if got := hiddenInput(page, "id"); got != "0193+x" {
		t.Errorf("id = %q", got)
	}
	if got := hiddenInput(page, "nope"); got != "" {
		t.Errorf("missing input = %q", got)
	}
	if got := formAction(page); got != "/t/default/login" {
		t.Errorf("action = %q", got)
	}
}

func TestScenarioAgainstAFakeServer(t *testing.T) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path != "/t/acme/oauth/token" || r.FormValue("grant_type") != "client_credentials" {
			http.Error(w, "bad", http.StatusBadRequest)
			return
		}
		if id, secret, ok := r.BasicAuth(); !ok || id != "cid" || secret != "gh_cs_s" {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(`{"access_token":"x","token_type":"Bearer"}`))
	}))
	defer srv.Close()
	base, err := checkTarget(srv.URL) // httptest listens on 127.0.0.1
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{base: base, tenant: "acme", ccID: "cid", ccSecret: "gh_cs_s", transport: newTransport(2)}
	res := Run(context.Background(), Config{Duration: time.Second, MaxRequests: 50, Concurrency: 2}, clientCredentials(tg))
	if res.Requests != 50 || res.Errors != 0 || hits.Load() != 50 {
		t.Fatalf("requests %d errors %d hits %d first %v", res.Requests, res.Errors, hits.Load(), res.FirstErr)
	}
	tg.ccSecret = "wrong"
	res = Run(context.Background(), Config{Duration: time.Second, MaxRequests: 5, Concurrency: 1}, clientCredentials(tg))
	if res.Errors != 5 || !errors.Is(res.FirstErr, errStatus) {
		t.Fatalf("wrong secret: errors %d, first %v", res.Errors, res.FirstErr)
	}
}

// TestRefreshRotates: against a server that rotates refresh tokens and
// refuses a used one, concurrent workers always redeem the newest token.
func TestRefreshRotates(t *testing.T) {
	var mu sync.Mutex
	live := map[string]bool{"rt-a": true, "rt-b": true}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		rt := r.FormValue("refresh_token")
		if r.URL.Path != "/t/acme/oauth/token" || r.FormValue("grant_type") != "refresh_token" || !live[rt] {
			http.Error(w, `{"error":"invalid_grant"}`, http.StatusBadRequest)
			return
		}
		delete(live, rt)
		n++
		next := fmt.Sprintf("rt-%d", n)
		live[next] = true
		fmt.Fprintf(w, `{"access_token":"at","refresh_token":%q}`, next)
	}))
	defer srv.Close()
	base, err := checkTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{base: base, tenant: "acme", acID: "cid", acSecret: "s", transport: newTransport(4)}
	res := Run(context.Background(), Config{Duration: 5 * time.Second, MaxRequests: 200, Concurrency: 4}, refreshOp(tg, []string{"rt-a", "rt-b"}, nil))
	if res.Requests != 200 || res.Errors != 0 {
		t.Fatalf("requests %d errors %d first %v", res.Requests, res.Errors, res.FirstErr)
	}
	// A pool holding a spent token fails, and says so.
	res = Run(context.Background(), Config{Duration: time.Second, MaxRequests: 3, Concurrency: 1}, refreshOp(tg, []string{"rt-a"}, nil))
	if res.Errors != 3 || !errors.Is(res.FirstErr, errStatus) {
		t.Fatalf("spent token: errors %d, first %v", res.Errors, res.FirstErr)
	}
}

func TestReportAgainFromJSON(t *testing.T) {
	dir := t.TempDir()
	lines := `{"scenario":"baseline","unit":"req","rate_per_s":20000,"p50_ms":0.2}
{"scenario":"auth_code","unit":"flow","rate_per_s":15,"p50_ms":400,"limit":"stale","of_limit":9}
`
	if err := os.WriteFile(dir+"/run.jsonl", []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	bench := "BenchmarkArgon2id/parallel-2  40  60000000 ns/op\nBenchmarkArgon2id/parallel-2  40  30000000 ns/op\n"
	if err := os.WriteFile(dir+"/limits.txt", []byte(bench), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errw strings.Builder
	if rc := run(context.Background(), []string{"-report", dir + "/run.jsonl", "-limits", dir + "/limits.txt", "-json"}, &out, &errw); rc != 0 {
		t.Fatalf("rc %d: %s", rc, errw.String())
	}
	var got []report
	for line := range strings.Lines(out.String()) {
		var r report
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if len(got) != 2 || got[1].OfLimit == nil || math.Abs(*got[1].OfLimit-0.45) > 1e-9 || got[1].Limit != "argon2id hash" {
		t.Fatalf("reports %+v", got)
	}
	if !strings.Contains(errw.String(), "45%") {
		t.Fatalf("table:\n%s", errw.String())
	}
}
