package console_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// perfUsers is the tenant size the users page must stay fast at.
const perfUsers = 100_000

// seedUsers bulk-inserts n users into tenant through the store, in
// batches of 10,000.
func seedUsers(t *testing.T, e *env, tenant store.TenantID, n int) {
	t.Helper()
	start := time.Now()
	const batch = 10_000
	for from := 0; from < n; from += batch {
		us := make([]store.User, 0, batch)
		for i := from; i < min(from+batch, n); i++ {
			email := fmt.Sprintf("user%07d@example.com", i)
			us = append(us, store.User{ID: uuid.Must(uuid.NewV7()).String(), Email: email, EmailNorm: email,
				GivenName: "Given", FamilyName: fmt.Sprintf("Family%d", i), Status: store.UserActive,
				Attributes: []byte(`{"dept":"eng"}`)})
		}
		if err := e.DB.Users().InsertUsers(context.Background(), tenant, us); err != nil {
			t.Fatal(err)
		}
	}
	// A deployment's statistics follow its data (PostgreSQL's autovacuum
	// analyses a table after a bulk load; the status filter's plan depends
	// on them): gather them as it would.
	if _, err := e.DB.SQL().ExecContext(context.Background(), "ANALYZE"); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: seeded %d users in %v", e.DB.Dialect(), n, time.Since(start).Round(time.Millisecond))
}

// p99 answers the 99th percentile and the median of ds.
func percentiles(ds []time.Duration) (p50, p99 time.Duration) {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2], s[(len(s)*99+99)/100-1]
}

// TestUsersPageFastAtScale: with 100,000 users in the tenant, the users
// page (its first page and a page deep in the cursor) renders in under
// 50 ms p99 of server time: the request served by the whole handler
// chain, in process, no network. Searches are measured and reported.
func TestUsersPageFastAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 100,000 users")
	}
	forEachBackendInTurn(t, func(t *testing.T, db string) {
		e := newEnv(t, db)
		admin := e.user("default", "admin@example.com", "correct horse battery", authz.RoleAdmin)
		seedUsers(t, e, admin.Tenant, perfUsers)
		b, _ := signedIn(t, e, admin)
		cookies := b.c.Jar.Cookies(mustURL(t, e.url+"/admin/users"))
		h := e.Handler()

		// A cursor half-way through the tenant.
		var mid []store.User
		for after := ""; len(mid) < perfUsers/2; {
			page, err := e.Directory.SearchUsers(context.Background(), admin.Tenant, store.UserQuery{Page: store.Page{Limit: 1000, After: after}})
			if err != nil || len(page) == 0 {
				t.Fatal(err)
			}
			mid = append(mid, page...)
			after = page[len(page)-1].ID
		}
		deep := "/admin/users?after=" + cursorOf(mid[len(mid)-1].ID)

		// serve answers the request's wall time and the process's CPU time
		// spent meanwhile (the server's own work, whatever else the
		// machine runs; the database's too for SQLite, in process).
		serve := func(path string) (wall, cpu time.Duration) {
			req := httptest.NewRequest(http.MethodGet, e.url+path, nil)
			for _, c := range cookies {
				req.AddCookie(c)
			}
			rec := httptest.NewRecorder()
			c0, start := cpuTime(), time.Now()
			h.ServeHTTP(rec, req)
			wall, cpu = time.Since(start), cpuTime()-c0
			if rec.Code != http.StatusOK {
				t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Header().Get("Location"))
			}
			return wall, cpu
		}
		const runs = 200
		type figures struct{ p50, p99, cpu99 time.Duration }
		measure := func(path string) figures {
			for i := 0; i < 5; i++ {
				serve(path) // warm caches and prepared statements
			}
			runtime.GC()
			walls, cpus := make([]time.Duration, 0, runs), make([]time.Duration, 0, runs)
			for i := 0; i < runs; i++ {
				w, c := serve(path)
				walls, cpus = append(walls, w), append(cpus, c)
			}
			var f figures
			f.p50, f.p99 = percentiles(walls)
			_, f.cpu99 = percentiles(cpus)
			return f
		}
		// On a machine busier than its cores, wall-clock tails measure the
		// queue for a core, not the server: the budget then holds for the
		// p99 of CPU time and the median of wall time.
		busy := loadAverage() > float64(runtime.NumCPU())
		const budget = 50 * time.Millisecond
		for _, c := range []struct {
			name, path string
			bound      bool // held to the 50 ms budget
		}{
			{"first page", "/admin/users", true},
			{"deep cursor page", deep, true},
			{"status filter", "/admin/users?status=active", true},
			{"exact email", "/admin/users?email=user0050000@example.com", true},
			{"name prefix, many matches", "/admin/users?q=family5", false},
			{"name prefix, one match", "/admin/users?q=family99999", false},
		} {
			f := measure(c.path)
			t.Logf("%s %s (%d users, load %.1f on %d cores): wall p50 %v, p99 %v; CPU p99 %v; %d requests",
				e.DB.Dialect(), c.name, perfUsers, loadAverage(), runtime.NumCPU(), f.p50.Round(10*time.Microsecond),
				f.p99.Round(10*time.Microsecond), f.cpu99.Round(10*time.Microsecond), runs)
			switch {
			case !c.bound:
			case !busy && f.p99 > budget:
				t.Errorf("%s: p99 %v, over the 50 ms budget", c.name, f.p99)
			case busy && (f.cpu99 > budget || f.p50 > budget):
				t.Errorf("%s: CPU p99 %v, wall p50 %v: over the 50 ms budget", c.name, f.cpu99, f.p50)
			}
		}
	})
}

// cpuTime is the process's user and system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// loadAverage is the machine's one-minute load (0 when unknown).
func loadAverage() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f, _ := strconv.ParseFloat(strings.Fields(string(b))[0], 64)
	return f
}
