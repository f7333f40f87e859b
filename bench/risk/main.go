// Command risk is the risk engine's benchmark on labelled traffic: it
// simulates a population (users with home countries, providers, devices,
// hours and travels), draws the owners' sign-ins and five attacks
// (credential stuffing from a botnet, password spraying, takeover from a
// new country with the right password, impossible travel, a new device at
// an unusual hour), replays them through the risk engine over a real
// SQLite store and real GeoIP databases, trains the learned model on the
// first half and reports, on the held-out second half, precision, recall,
// the false-positive rate on the owners' sign-ins and ROC-AUC for the
// rules alone and for the rules with the model, and the scoring latency.
//
//	go run ./bench/risk -users 10000 -seed 1
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"net/netip"
	"os"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/risk"
)

func defaultConfig() config {
	return config{Users: 10000, WarmupDays: 28, Days: 8, Seed: 1, ATO: 300, Travels: 200, OddDevices: 300, Bots: 240, SprayAccounts: 300}
}

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Users, "users", cfg.Users, "simulated users")
	flag.IntVar(&cfg.WarmupDays, "warmup-days", cfg.WarmupDays, "days of sign-in history before the replay")
	flag.IntVar(&cfg.Days, "days", cfg.Days, "days replayed (the first half trains, the second is held out)")
	flag.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "random seed (a seed is a world)")
	dir := flag.String("dir", "", "directory for the SQLite store and GeoIP databases (default: a temporary one, removed; on /dev/shm when there is one)")
	model := flag.Bool("model", false, "print the trained model's document (features and weights)")
	flag.Parse()
	if *dir == "" {
		// The bench measures the engine, not the disk: a memory-backed
		// directory when the system has one.
		base := ""
		if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
			base = "/dev/shm"
		}
		d, err := os.MkdirTemp(base, "bench-risk-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	rep, err := run(context.Background(), cfg, *dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/risk:", err)
		os.Exit(1)
	}
	rep.write(os.Stdout)
	if *model {
		d := rep.model.Doc()
		fmt.Printf("\nModel %s (trained on %d, %d not the owner); bias %.3f\n", d.Version, d.Training.Samples, d.Training.Positives, d.Bias)
		for _, f := range d.Features {
			fmt.Printf("  %-26s %+8.3f  %s\n", f.Name, f.Weight, f.Explain)
		}
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// metrics are one scorer's figures on the held-out attempts at the
// step-up threshold.
type metrics struct {
	Precision, Recall, FPR, AUC float64
	PerClass                    map[Class]float64
	Positives, Legit            int
}

func (r *report) metrics(model bool) metrics {
	th := float64(risk.DefaultThresholds().StepUp)
	m := metrics{PerClass: map[Class]float64{}}
	var tp, fp int
	perN, perTP := map[Class]int{}, map[Class]int{}
	scores, labels := make([]float64, len(r.held)), make([]bool, len(r.held))
	for i, s := range r.held {
		p := s.rules
		if model {
			p = s.model
		}
		scores[i], labels[i] = p, s.class != Legit
		flag := math.Round(p*100) >= th
		if s.class == Legit {
			m.Legit++
			fp += b2i(flag)
			continue
		}
		m.Positives++
		tp += b2i(flag)
		perN[s.class]++
		perTP[s.class] += b2i(flag)
	}
	if tp+fp > 0 {
		m.Precision = float64(tp) / float64(tp+fp)
	}
	if m.Positives > 0 {
		m.Recall = float64(tp) / float64(m.Positives)
	}
	if m.Legit > 0 {
		m.FPR = float64(fp) / float64(m.Legit)
	}
	m.AUC = risk.AUC(scores, labels)
	for c, n := range perN {
		m.PerClass[c] = float64(perTP[c]) / float64(n)
	}
	return m
}

var attackClasses = []Class{ATOCountry, Travel, OddDevice, Stuffing, Spraying}

func (r *report) write(w io.Writer) {
	ru, mo := r.metrics(false), r.metrics(true)
	fmt.Fprintf(w, "Users %d, history before the replay %d sign-ins, replay %d days (seed %d); trained on %d assessments (%d labelled not the owner); held out: %d owners' sign-ins, %d takeover attempts with the right password; %s in all.\n\n",
		r.users, r.history, r.cfg.Days, r.cfg.Seed, r.trainN, r.trainPos, ru.Legit, ru.Positives, r.elapsed.Round(time.Second))
	fmt.Fprintf(w, "| scorer | precision | recall | FPR (owners) | ROC-AUC | scoring p99 |\n|---|---|---|---|---|---|\n")
	fmt.Fprintf(w, "| rules alone | %.3f | %.3f | %.2f%% | %.3f | %s |\n", ru.Precision, ru.Recall, 100*ru.FPR, ru.AUC, p99(r.ruleLat))
	fmt.Fprintf(w, "| rules + model | %.3f | %.3f | %.2f%% | %.3f | %s |\n\n", mo.Precision, mo.Recall, 100*mo.FPR, mo.AUC, p99(r.modelLat))
	fmt.Fprintf(w, "| attack (right password, held out) | attempts | recall, rules | recall, rules + model |\n|---|---|---|---|\n")
	for _, c := range attackClasses {
		n := 0
		for _, s := range r.held {
			n += b2i(s.class == c)
		}
		fmt.Fprintf(w, "| %s | %d | %.3f | %.3f |\n", c, n, ru.PerClass[c], mo.PerClass[c])
	}
	fmt.Fprintf(w, "\nWrong-password attempts that had to pass the proof-of-work challenge first (network over the stuffing threshold):")
	for _, c := range []Class{Stuffing, Spraying} {
		ch := r.challenge[c]
		fmt.Fprintf(w, " %s %d of %d;", c, ch[0], ch[1])
	}
	fmt.Fprintf(w, "\nLatency p99 per attempt: gathering (store reads, GeoIP, counters) %s; scoring, rules %s, rules + model %s.\n",
		p99(r.gatherLat), p99(r.ruleLat), p99(r.modelLat))
}
