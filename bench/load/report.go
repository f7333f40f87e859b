package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"text/tabwriter"
	"time"
)

// Columns of the table: rate is successful iterations per second;
// rate/base and p50/base compare with the neighbouring baselines; "of
// limit" is rate over the limit's every-core ceiling; "limit cpu" is the
// limit's one-core cost over the server's CPU per iteration; the peak RSS
// carries a * when it is the process's since start, not the scenario's.

// report is one scenario's figures, as the JSON line prints them. Optional
// figures are pointers: absent rather than zero when not measured.
type report struct {
	Scenario    string  `json:"scenario"`
	Unit        string  `json:"unit"` // one iteration: "req" or "flow"
	Concurrency int     `json:"concurrency"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	ElapsedS    float64 `json:"elapsed_s"`
	Rate        float64 `json:"rate_per_s"` // successful iterations per second
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`

	// The server's cost, with -pid.
	ServerCPUSeconds *float64 `json:"server_cpu_s,omitempty"`
	CPUSecondsPer1k  *float64 `json:"server_cpu_s_per_1k,omitempty"`
	PeakRSSMiB       *float64 `json:"server_peak_rss_mib,omitempty"`
	// PeakRSSScope is "scenario" when the peak was reset at its start,
	// "process" when it is the server's peak since it started.
	PeakRSSScope string `json:"server_peak_rss_scope,omitempty"`
	// GeneratorCPUSeconds is this tool's own CPU time: it shares the
	// machine with the server. For the baseline it includes the handler.
	GeneratorCPUSeconds float64 `json:"generator_cpu_s"`

	// Against the baseline(s) run just before and after.
	RateVsBaseline *float64 `json:"rate_vs_baseline,omitempty"`
	P50VsBaseline  *float64 `json:"p50_vs_baseline,omitempty"`
	// Against the scenario's limit, with -limits.
	Limit     string   `json:"limit,omitempty"`
	LimitPerS *float64 `json:"limit_per_s,omitempty"`
	OfLimit   *float64 `json:"of_limit,omitempty"`
	// LimitCPUShare is one operation on one core over the server's CPU
	// time per iteration: how much of what the server spends is the limit.
	// Other load on the machine moves it far less than rates, since it
	// compares CPU time with CPU time.
	LimitCPUShare *float64 `json:"limit_cpu_share,omitempty"`

	FirstError string `json:"first_error,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func ptr(f float64) *float64 { return &f }

func newReport(s scenario, cfg Config, res Result) report {
	r := report{Scenario: s.name, Unit: s.unit, Concurrency: cfg.Concurrency,
		Requests: res.Requests, Errors: res.Errors, ElapsedS: res.Elapsed.Seconds(), Rate: res.Rate(),
		P50ms: ms(res.Percentile(50)), P90ms: ms(res.Percentile(90)), P99ms: ms(res.Percentile(99))}
	if res.FirstErr != nil {
		r.FirstError = res.FirstErr.Error()
	}
	return r
}

func (r *report) setServer(c procCost) {
	r.ServerCPUSeconds = ptr(c.CPUSeconds)
	if ok := r.Requests - r.Errors; ok > 0 {
		r.CPUSecondsPer1k = ptr(c.CPUSeconds / float64(ok) * 1000)
	}
	r.PeakRSSMiB = ptr(float64(c.PeakRSSKiB) / 1024)
	r.PeakRSSScope = "process"
	if c.PeakReset {
		r.PeakRSSScope = "scenario"
	}
}

// limitOf names each scenario's limit: the one operation every iteration
// must do, as the benchmarks in bench/limits_test.go that measure it on
// every core (the ceiling in operations per second) and on one (its cost).
var limitOf = map[string]struct{ bench, one, label string }{
	"client_credentials": {"SignES256/parallel", "SignES256/one", "ES256 signature"},
	"auth_code":          {"Argon2id/parallel", "Argon2id/one", "argon2id hash"},
}

// limits are ns/op by benchmark name (without the -GOMAXPROCS suffix).
type limits map[string]float64

var benchLineRE = regexp.MustCompile(`^Benchmark(\S+?)(?:-\d+)?\s+\d+\s+([0-9.]+) ns/op`)

// parseLimits reads `go test -bench` output. A benchmark run several
// times (-count, or runs before and after the load in one file) counts as
// its fastest run: a limit is a ceiling, and noise from the rest of the
// machine only ever makes an operation slower.
func parseLimits(r io.Reader) (limits, error) {
	out := limits{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		m := benchLineRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		ns, err := strconv.ParseFloat(m[2], 64)
		if err != nil || ns <= 0 {
			return nil, fmt.Errorf("bad ns/op in %q", sc.Text())
		}
		if old, ok := out[m[1]]; !ok || ns < old {
			out[m[1]] = ns
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no benchmark results")
	}
	return out, nil
}

// compare sets each scenario's ratios: to the mean of the nearest baseline
// before it and the nearest after it (A/B alternation keeps both close in
// time), and to its limit.
func compare(rs []report, lim limits) {
	for i := range rs {
		r := &rs[i]
		if r.Scenario == "baseline" {
			continue
		}
		var near []report
		for j := i - 1; j >= 0; j-- {
			if rs[j].Scenario == "baseline" {
				near = append(near, rs[j])
				break
			}
		}
		for j := i + 1; j < len(rs); j++ {
			if rs[j].Scenario == "baseline" {
				near = append(near, rs[j])
				break
			}
		}
		if len(near) > 0 {
			var rate, p50 float64
			for _, b := range near {
				rate += b.Rate / float64(len(near))
				p50 += b.P50ms / float64(len(near))
			}
			if rate > 0 {
				r.RateVsBaseline = ptr(r.Rate / rate)
			}
			if p50 > 0 {
				r.P50VsBaseline = ptr(r.P50ms / p50)
			}
		}
		r.Limit, r.LimitPerS, r.OfLimit, r.LimitCPUShare = "", nil, nil, nil
		l, ok := limitOf[r.Scenario]
		if !ok {
			continue
		}
		if ns, ok := lim[l.bench]; ok {
			r.Limit = l.label
			r.LimitPerS = ptr(1e9 / ns)
			r.OfLimit = ptr(r.Rate / *r.LimitPerS)
		}
		if ns, ok := lim[l.one]; ok && r.CPUSecondsPer1k != nil && *r.CPUSecondsPer1k > 0 {
			r.Limit = l.label
			// CPU s per 1,000 iterations is ms per iteration.
			r.LimitCPUShare = ptr(ns / 1e6 / *r.CPUSecondsPer1k)
		}
	}
}

func printTable(w io.Writer, rs []report) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\tconc\tn\terrors\trate\tp50\tp90\tp99\trate/base\tp50/base\tof limit\tlimit cpu\tsrv cpu s\tcpu s/1k\tpeak rss\tgen cpu s\t")
	for _, r := range rs {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s/s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.1f\t\n",
			r.Scenario, r.Concurrency, r.Requests, r.Errors, rate(r.Rate)+" "+r.Unit,
			latency(r.P50ms), latency(r.P90ms), latency(r.P99ms),
			opt(r.RateVsBaseline, "%.3f"), opt(r.P50VsBaseline, "%.1fx"), optPct(r.OfLimit), optPct(r.LimitCPUShare),
			opt(r.ServerCPUSeconds, "%.1f"), opt(r.CPUSecondsPer1k, "%.2f"), rss(r), r.GeneratorCPUSeconds)
	}
	tw.Flush()
	for _, r := range rs {
		if r.LimitPerS != nil {
			fmt.Fprintf(w, "limit of %s: one %s per %s; %s/s on every core\n", r.Scenario, r.Limit, r.Unit, rate(*r.LimitPerS))
		}
	}
}

func rate(f float64) string {
	if f >= 100 {
		return strconv.FormatFloat(f, 'f', 0, 64)
	}
	return strconv.FormatFloat(f, 'f', 1, 64)
}

func latency(v float64) string {
	switch {
	case v == 0:
		return "-"
	case v < 1:
		return fmt.Sprintf("%.0fµs", v*1000)
	case v < 10:
		return fmt.Sprintf("%.2fms", v)
	}
	return fmt.Sprintf("%.1fms", v)
}

func opt(p *float64, format string) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf(format, *p)
}

func optPct(p *float64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", *p*100)
}

func rss(r report) string {
	if r.PeakRSSMiB == nil {
		return "-"
	}
	s := fmt.Sprintf("%.0f MiB", *r.PeakRSSMiB)
	if r.PeakRSSScope == "process" {
		s += "*"
	}
	return s
}
