package main

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeRun writes samples.csv and load.jsonl for n chunks whose goroutines,
// heap and RSS follow the given functions of the chunk index.
func writeRun(t *testing.T, n int, g, h, r func(i int) float64, errs int) (string, string) {
	t.Helper()
	dir := t.TempDir()
	var s, l bytes.Buffer
	s.WriteString("elapsed_s,goroutines,heap_bytes,rss_bytes\n")
	for i := 0; i <= n; i++ {
		fmt.Fprintf(&s, "%d,%.0f,%.0f,%.0f\n", i*60, g(i), h(i), r(i))
		if i > 0 {
			e := 0
			if i == n {
				e = errs
			}
			fmt.Fprintf(&l, `{"scenario":"mixed","requests":1000,"errors":%d,"rate_per_s":16.6,"p99_ms":80,"first_error":"x"}`+"\n", e)
		}
	}
	sp, lp := filepath.Join(dir, "samples.csv"), filepath.Join(dir, "load.jsonl")
	if err := os.WriteFile(sp, s.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lp, l.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return sp, lp
}

func flat(v float64) func(int) float64 { return func(int) float64 { return v } }

func TestSoakcheckJudges(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name    string
		g, h, r func(int) float64
		errs    int
		logErrs string
		want    int
		says    string
	}{
		{"flat", flat(40), func(i int) float64 { return float64(20+(i%3)*8) * mib }, flat(60 * mib), 0, "0", 0, "PASS"},
		{"goroutine leak", func(i int) float64 { return float64(40 + 10*i) }, flat(20 * mib), flat(60 * mib), 0, "0", 1, "goroutines"},
		{"heap leak", flat(40), func(i int) float64 { return float64(20+8*i) * mib }, flat(60 * mib), 0, "0", 1, "heap"},
		{"rss growth", flat(40), flat(20 * mib), func(i int) float64 { return float64(60+6*i) * mib }, 0, "0", 1, "rss"},
		{"failed requests", flat(40), flat(20 * mib), flat(60 * mib), 3, "0", 1, "errors during the soak"},
		{"server errors", flat(40), flat(20 * mib), flat(60 * mib), 0, "2", 1, "server log errors 2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			sp, lp := writeRun(t, 12, c.g, c.h, c.r, c.errs)
			pngPath := filepath.Join(t.TempDir(), "soak.png")
			var out, errOut bytes.Buffer
			code := run([]string{"-samples", sp, "-load", lp, "-png", pngPath, "-server-errors", c.logErrs}, &out, &errOut)
			if code != c.want || !strings.Contains(out.String(), c.says) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s%s", code, c.want, c.says, out.String(), errOut.String())
			}
			f, err := os.Open(pngPath)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil || img.Bounds().Dx() != plotW {
				t.Fatalf("plot: %v %v", err, img)
			}
		})
	}
}

func TestSoakcheckRefusesMismatchedRuns(t *testing.T) {
	sp, _ := writeRun(t, 6, flat(1), flat(1), flat(1), 0)
	_, lp := writeRun(t, 4, flat(1), flat(1), flat(1), 0)
	var out bytes.Buffer
	if code := run([]string{"-samples", sp, "-load", lp}, &out, &out); code != 1 || !strings.Contains(out.String(), "6 chunks") && !strings.Contains(out.String(), "4 chunks") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
}

func TestSoakcheckPace(t *testing.T) {
	_, lp := writeRun(t, 1, flat(1), flat(1), flat(1), 0)
	var out bytes.Buffer
	if code := run([]string{"-rate-of", lp, "-fraction", "0.5"}, &out, &out); code != 0 || strings.TrimSpace(out.String()) != "8.3" {
		t.Fatalf("exit %d: %q", code, out.String())
	}
	if code := run([]string{"-rate-of", lp, "-fraction", "1.5"}, &out, &out); code != 2 {
		t.Fatalf("fraction 1.5 accepted: %d", code)
	}
}
