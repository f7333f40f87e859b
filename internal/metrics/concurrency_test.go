package metrics

import (
	"database/sql"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestConcurrentUpdatesAndScrapes(t *testing.T) {
	r := NewRegistry()
	c := r.NewCounterVec("conc_total", "x", "k")
	h := r.NewHistogramVec("conc_seconds", "x", []float64{1}, "k")
	const goroutines, perG = 64, 1000
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			k := fmt.Sprint(g % 4)
			for range perG {
				c.Inc(k)
				c.Add(0.5, "shared")
				h.Observe(0.5, k)
			}
		})
	}
	wg.Go(func() { // registrations race with scrapes
		for i := range 50 {
			r.NewGaugeFunc(fmt.Sprint("aaa_late_", i), "x", func() float64 { return 1 })
		}
	})
	for range 4 { // scrapes race with updates
		wg.Go(func() {
			for range 20 {
				if _, err := r.WriteTo(io.Discard); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	for k := range 4 {
		if got := c.Value(fmt.Sprint(k)); got != goroutines/4*perG {
			t.Errorf("k=%d: %v, want %d", k, got, goroutines/4*perG)
		}
	}
	if got := c.Value("shared"); got != goroutines*perG/2 {
		t.Errorf("shared = %v, want %d", got, goroutines*perG/2)
	}
	if out := scrape(t, r); !strings.Contains(out, fmt.Sprintf("conc_seconds_count{k=\"0\"} %d\n", goroutines/4*perG)) {
		t.Errorf("histogram count wrong:\n%s", out)
	}
}

func TestRegisterDBStats(t *testing.T) {
	r := NewRegistry()
	r.RegisterDBStats(func() sql.DBStats {
		return sql.DBStats{MaxOpenConnections: 10, OpenConnections: 5, InUse: 3, Idle: 2,
			WaitCount: 7, WaitDuration: 1500 * time.Millisecond}
	})
	out := scrape(t, r)
	for _, line := range []string{
		"# TYPE db_open_connections gauge\ndb_open_connections 5\n",
		"db_in_use_connections 3\n",
		"db_idle_connections 2\n",
		"db_max_open_connections 10\n",
		"# TYPE db_wait_count_total counter\ndb_wait_count_total 7\n",
		"# TYPE db_wait_duration_seconds_total counter\ndb_wait_duration_seconds_total 1.5\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("missing %q in\n%s", line, out)
		}
	}
}

func TestRegisterRuntime(t *testing.T) {
	r := NewRegistry()
	r.RegisterRuntime()
	out := scrape(t, r)
	for _, name := range []string{"go_goroutines", "go_memstats_heap_alloc_bytes"} {
		if !strings.Contains(out, "# TYPE "+name+" gauge\n"+name+" ") {
			t.Errorf("missing %s in\n%s", name, out)
		}
	}
	if strings.Contains(out, " NaN\n") || strings.Contains(out, "go_memstats_heap_alloc_bytes 0\n") {
		t.Errorf("implausible runtime values:\n%s", out)
	}
	mustPanic(t, "double RegisterRuntime", r.RegisterRuntime)
}

func TestRegisterWhileScraping(t *testing.T) {
	r := NewRegistry()
	r.NewGaugeFunc("zzz", "x", func() float64 { return 1 })
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-done:
				return
			default:
				if _, err := r.WriteTo(io.Discard); err != nil {
					t.Error(err)
				}
			}
		}
	})
	for i := range 200 {
		// Names sort first, so each registration inserts at the front.
		r.NewGaugeFunc(fmt.Sprintf("a%03d", 999-i), "x", func() float64 { return 1 })
	}
	close(done)
	wg.Wait()
	if out := scrape(t, r); strings.Count(out, "# TYPE ") != 201 {
		t.Errorf("families = %d, want 201", strings.Count(out, "# TYPE "))
	}
}
