// Command soakcheck judges and plots a soak run of bench/soak.sh.
//
//	soakcheck -rate-of probe.jsonl -fraction 0.7
//	soakcheck -samples samples.csv -load load.jsonl -png soak.png -title T
//
// The first form prints the pace for the soak: fraction of the rate the
// probe run of bench/load measured. The second prints a table of the
// samples, writes a PNG of goroutines, heap, RSS and the achieved rate over
// time, and exits 1 when any request failed, the server logged an error, or
// goroutines, heap or RSS grew (see growth).
package main

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
)

// sample is one line of samples.csv.
type sample struct {
	elapsedS                float64
	goroutines, heapB, rssB float64
}

// chunk is the part of a bench/load JSON line soakcheck reads.
type chunk struct {
	Requests   int     `json:"requests"`
	Errors     int     `json:"errors"`
	Rate       float64 `json:"rate_per_s"`
	P99ms      float64 `json:"p99_ms"`
	FirstError string  `json:"first_error"`
}

// limit is how much a series may grow: the median of the second half of
// the samples after warm-up against the median of the first half, with an
// absolute slack for small counts.
type limit struct {
	name        string
	get         func(sample) float64
	ratio, plus float64
}

var limits = []limit{
	{"goroutines", func(s sample) float64 { return s.goroutines }, 1.2, 10},
	// The heap is sampled at a random point of the GC cycle: live data plus
	// garbage not yet collected, so it moves within a factor of GOGC's 2.
	{"heap", func(s sample) float64 { return s.heapB }, 1.5, 4 << 20},
	{"rss", func(s sample) float64 { return s.rssB }, 1.2, 8 << 20},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("soakcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rateOf := fs.String("rate-of", "", "a bench/load -json file: print -fraction of its rate and exit")
	fraction := fs.Float64("fraction", 0.7, "with -rate-of: the share of the measured rate")
	samplesPath := fs.String("samples", "", "samples.csv of bench/soak.sh")
	loadPath := fs.String("load", "", "load.jsonl of bench/soak.sh: a bench/load -json line per chunk")
	pngPath := fs.String("png", "", "write the plot here")
	title := fs.String("title", "gatehouse soak", "the plot's title")
	serverErrors := fs.Int("server-errors", 0, "ERROR lines in the server's log")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *rateOf != "" {
		cs, err := readChunks(*rateOf)
		if err != nil || len(cs) != 1 || cs[0].Rate <= 0 || *fraction <= 0 || *fraction > 1 {
			fmt.Fprintf(stderr, "soakcheck: -rate-of %s: want one run with a rate and 0 < -fraction <= 1 (%v)\n", *rateOf, err)
			return 2
		}
		fmt.Fprintf(stdout, "%.1f\n", cs[0].Rate**fraction)
		return 0
	}
	ss, err := readSamples(*samplesPath)
	if err != nil {
		fmt.Fprintln(stderr, "soakcheck:", err)
		return 2
	}
	cs, err := readChunks(*loadPath)
	if err != nil {
		fmt.Fprintln(stderr, "soakcheck:", err)
		return 2
	}
	v := judge(ss, cs, *serverErrors)
	printTable(stdout, ss, cs)
	for _, l := range v.lines {
		fmt.Fprintln(stdout, l)
	}
	if *pngPath != "" {
		if err := writePlot(*pngPath, *title, ss, cs); err != nil {
			fmt.Fprintln(stderr, "soakcheck:", err)
			return 2
		}
		fmt.Fprintln(stdout, "plot:", *pngPath)
	}
	if !v.ok {
		fmt.Fprintln(stdout, "FAIL")
		return 1
	}
	fmt.Fprintln(stdout, "PASS")
	return 0
}

// verdict is judge's answer: whether the soak was clean, and why.
type verdict struct {
	ok    bool
	lines []string
}

// judge fails the run on any failed request or server error, on a chunk
// count that does not match the samples, and on growth past limits.
func judge(ss []sample, cs []chunk, serverErrors int) verdict {
	v := verdict{ok: true}
	fail := func(f string, a ...any) {
		v.ok = false
		v.lines = append(v.lines, "fail: "+fmt.Sprintf(f, a...))
	}
	if len(ss) < 3 || len(cs) != len(ss)-1 {
		fail("%d samples and %d chunks: want a sample before the load and one after each chunk, at least 2 chunks", len(ss), len(cs))
		return v
	}
	reqs, errs := 0, 0
	for i, c := range cs {
		reqs += c.Requests
		errs += c.Errors
		if c.Errors > 0 {
			v.lines = append(v.lines, fmt.Sprintf("chunk %d: %d errors; first: %s", i+1, c.Errors, c.FirstError))
		}
	}
	v.lines = append(v.lines, fmt.Sprintf("requests %d, errors %d, server log errors %d", reqs, errs, serverErrors))
	if errs > 0 || serverErrors > 0 {
		fail("errors during the soak")
	}
	// Warm-up: the sample before the load and the first fifth of the rest.
	after := ss[1+max(1, (len(ss)-1)/5)-1:]
	if len(after) < 2 {
		return v
	}
	first, second := after[:len(after)/2], after[len(after)/2:]
	for _, l := range limits {
		a, b := median(first, l.get), median(second, l.get)
		line := fmt.Sprintf("%-10s median %.0f -> %.0f (x%.3f; limit x%.2f + %.0f)", l.name, a, b, b/max(a, 1), l.ratio, l.plus)
		if b > a*l.ratio+l.plus {
			fail("%s", line)
			continue
		}
		v.lines = append(v.lines, "ok:   "+line)
	}
	return v
}

func median(ss []sample, get func(sample) float64) float64 {
	xs := make([]float64, len(ss))
	for i, s := range ss {
		xs[i] = get(s)
	}
	slices.Sort(xs)
	if n := len(xs); n%2 == 1 {
		return xs[n/2]
	} else {
		return (xs[n/2-1] + xs[n/2]) / 2
	}
}

func readSamples(path string) ([]sample, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(recs) < 1 || len(recs[0]) != 4 || recs[0][0] != "elapsed_s" {
		return nil, fmt.Errorf("%s: want the header elapsed_s,goroutines,heap_bytes,rss_bytes", path)
	}
	var out []sample
	for i, r := range recs[1:] {
		var xs [4]float64
		for j, f := range r {
			if xs[j], err = strconv.ParseFloat(f, 64); err != nil {
				return nil, fmt.Errorf("%s line %d: %w", path, i+2, err)
			}
		}
		out = append(out, sample{xs[0], xs[1], xs[2], xs[3]})
	}
	return out, nil
}

func readChunks(path string) ([]chunk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []chunk
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var c chunk
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, c)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no runs")
	}
	return out, nil
}

func printTable(w io.Writer, ss []sample, cs []chunk) {
	fmt.Fprintf(w, "%8s %10s %10s %9s %9s %8s %7s\n", "t (s)", "goroutines", "heap MiB", "RSS MiB", "rate /s", "p99 ms", "errors")
	for i, s := range ss {
		rate, p99, errs := "", "", ""
		if i > 0 && i-1 < len(cs) {
			c := cs[i-1]
			rate, p99, errs = fmt.Sprintf("%.1f", c.Rate), fmt.Sprintf("%.1f", c.P99ms), strconv.Itoa(c.Errors)
		}
		fmt.Fprintf(w, "%8.0f %10.0f %10.1f %9.1f %9s %8s %7s\n", s.elapsedS, s.goroutines, s.heapB/(1<<20), s.rssB/(1<<20), rate, p99, errs)
	}
}
