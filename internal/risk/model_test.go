package risk_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/risk/risktest"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// synthetic draws labelled assessments: owners mostly familiar, now and
// then on a new device or network; attackers on a new device and a new
// network at an hour the owner never signs in, which the rules alone
// score below the step-up threshold.
func synthetic(rng *rand.Rand, n int, attackShare float64) []risk.Sample {
	out := make([]risk.Sample, n)
	nd, nn, vel := risk.Index(risk.NewDevice), risk.Index(risk.NewNetwork), risk.Index(risk.Velocity)
	for i := range out {
		s := risk.Sample{Features: risk.Features{SignIns: 20 + rng.IntN(30), Countries: 1, Networks: 2, Devices: 2,
			HourShare: 0.3 + 0.6*rng.Float64(), SinceLast: 48 * time.Hour, MeanInterval: 48 * time.Hour, UserAgents: 1,
			UserAgentSeen: true}}
		if rng.Float64() < attackShare {
			s.Label = 1
			s.Vector[nd], s.Vector[nn] = 1, 1
			s.Features.HourShare = 0
			s.Vector[vel] = 0.5
		} else {
			if rng.Float64() < 0.05 {
				s.Vector[nd] = 1
			}
			if rng.Float64() < 0.1 {
				s.Vector[nn] = 1
			}
		}
		out[i] = s
	}
	return out
}

func TestTrainLearnsWhatTheRulesMiss(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	train, test := synthetic(rng, 3000, 0.05), synthetic(rng, 3000, 0.05)
	m, err := risk.Train(train, risk.TrainOptions{Version: "learned-7", Now: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	rules := risk.Rules{Signals: risk.DefaultSignals()}
	var tp, fp, pos, neg, rulesTP int
	for _, s := range test {
		flag := math.Round(m.Probability(s.Vector, s.Features)*100) >= 50
		if s.Label == 1 {
			pos++
			tp += b2i(flag)
			rulesTP += b2i(rules.Probability(s.Vector, s.Features) >= 0.5)
		} else {
			neg++
			fp += b2i(flag)
		}
	}
	if rulesTP != 0 {
		t.Fatalf("the rules catch %d of the synthetic attacks; the test wants them to miss all", rulesTP)
	}
	if r := float64(tp) / float64(pos); r < 0.95 {
		t.Errorf("learned recall = %.3f, want >= 0.95", r)
	}
	if f := float64(fp) / float64(neg); f > 0.01 {
		t.Errorf("learned FPR = %.4f, want <= 0.01", f)
	}
	d := m.Doc()
	if d.Version != "learned-7" || m.Version() != "learned-7" || d.Kind != risk.ModelKind || d.Training.Samples != 3000 ||
		d.Training.AUC < d.Training.RulesAUC || len(d.Features) != risk.NumModelFeatures || d.Training.Labels == "" {
		t.Fatalf("doc = %+v", d)
	}
	// The document is the model: stored and loaded, it scores the same.
	raw, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	back, err := risk.LoadModel(raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range test[:50] {
		if a, b := m.Probability(s.Vector, s.Features), back.Probability(s.Vector, s.Features); a != b {
			t.Fatalf("loaded model scores %v, trained %v", b, a)
		}
	}
	// A document of another shape is refused.
	d.Features = d.Features[1:]
	raw, _ = json.Marshal(d)
	if _, err := risk.LoadModel(raw); !errors.Is(err, risk.ErrModelShape) {
		t.Fatalf("LoadModel(short) = %v", err)
	}
}

func TestTrainRefusesTooFewLabels(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	if _, err := risk.Train(synthetic(rng, 300, 0.02), risk.TrainOptions{}); !errors.Is(err, risk.ErrTooFewSamples) {
		t.Fatalf("Train(6 positives) = %v, want ErrTooFewSamples", err)
	}
}

func TestAUC(t *testing.T) {
	if a := risk.AUC([]float64{0.1, 0.2, 0.8, 0.9}, []bool{false, false, true, true}); a != 1 {
		t.Fatalf("separated AUC = %v", a)
	}
	if a := risk.AUC([]float64{0.5, 0.5, 0.5, 0.5}, []bool{false, true, false, true}); a != 0.5 {
		t.Fatalf("tied AUC = %v", a)
	}
	if a := risk.AUC([]float64{0.9, 0.1}, []bool{false, true}); a != 0 {
		t.Fatalf("inverted AUC = %v", a)
	}
}

func TestUserAgentFamily(t *testing.T) {
	a := risk.UserAgentFamily("Mozilla/5.0 (Windows NT 10.0) Chrome/120.0.1 Safari/537.36")
	b := risk.UserAgentFamily("Mozilla/5.0 (Windows NT 10.0) Chrome/131.0.6778 Safari/537.36")
	c := risk.UserAgentFamily("Mozilla/5.0 (Windows NT 10.0; rv:133.0) Gecko/20100101 Firefox/133.0")
	if a != b || a == c {
		t.Fatalf("families: %q %q %q", a, b, c)
	}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestLearnerLifecycle: assessments are stored with what was scored,
// labelled by what follows (a completed sign-in, a "this was not me"
// report, an abandoned step-up), trained into the tenant's next version,
// which then scores the tenant's attempts and is shown as a document;
// erasing the user erases the assessments.
func TestLearnerLifecycle(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			f := newFixture(t, b.open)
			ctx := context.Background()
			l := &risk.Learner{Store: f.db, Now: f.clk.Now}
			f.e.Learner = l
			f.e.Audit.Observers = append(f.e.Audit.Observers, l)
			if doc, err := f.e.ModelDoc(ctx, f.tenant); err != nil || doc.Kind != "rules" || doc.Version != risk.RulesVersion ||
				len(doc.Features) != risk.NumSignals {
				t.Fatalf("ModelDoc without a model = %+v, %v", doc, err)
			}
			home := risktest.Addr(risktest.Berlin, 4)
			for range 6 {
				if err := f.e.Completed(ctx, f.tenant, f.user, home, browserUA, "dev-1"); err != nil {
					t.Fatal(err)
				}
				f.clk.add(20 * time.Hour)
			}
			assess := func(ip, device string) risk.Assessment {
				t.Helper()
				as := f.assess(t, risk.Attempt{Kind: risk.KindLogin, IP: ip, UserAgent: browserUA, DeviceID: device})
				err := f.db.InTx(ctx, func(tx store.Repos) error {
					return f.e.Record(ctx, tx, events.Actor{Type: "user", ID: f.user}, f.tenant, risk.KindLogin, f.user, as)
				})
				if err != nil {
					t.Fatal(err)
				}
				return as
			}
			// A familiar sign-in that completes: the owner.
			assess(home, "dev-1")
			if err := f.e.Completed(ctx, f.tenant, f.user, home, browserUA, "dev-1"); err != nil {
				t.Fatal(err)
			}
			// Sydney, then a "this was not me" report: not the owner.
			f.clk.add(time.Hour)
			if as := assess(risktest.Addr(risktest.Sydney, 2), ""); as.Decision != risk.StepUp || as.ModelVersion != risk.RulesVersion {
				t.Fatalf("Sydney: %+v", as)
			}
			if err := f.e.Completed(ctx, f.tenant, f.user, risktest.Addr(risktest.Sydney, 2), browserUA, "dev-2"); err != nil {
				t.Fatal(err)
			}
			err := f.db.InTx(ctx, func(tx store.Repos) error {
				return f.e.Audit.Record(ctx, tx, events.Actor{Type: "user", ID: f.user}, events.Entry{Tenant: f.tenant,
					Action: "user.secure", TargetType: "user", TargetID: f.user})
			})
			if err != nil {
				t.Fatal(err)
			}
			// A step-up that never completes: abandoned once settled.
			f.clk.add(time.Hour)
			assess(risktest.Addr(risktest.NewYork, 9), "")
			f.clk.add(2 * risk.SettleAfter)
			// The rest of the tenant's history, as the store keeps it.
			rng := rand.New(rand.NewPCG(5, 6))
			for i, s := range synthetic(rng, 600, 0.08) {
				o := string(risk.OutcomeCompleted)
				if s.Label == 1 {
					o = string(risk.OutcomeReported)
				}
				data, _ := json.Marshal(map[string]any{"vector": s.Vector, "features": s.Features})
				if err := f.db.RiskModels().AddObservation(ctx, &store.RiskObservation{Tenant: f.tenant, ID: "syn-" + strconv.Itoa(i),
					UserID: f.user, At: f.clk.Now().Add(-time.Duration(i) * time.Minute), Data: string(data), Decision: "allow",
					Outcome: o}); err != nil {
					t.Fatal(err)
				}
			}
			n, err := l.Upkeep(ctx, func(tn store.TenantID, err error) { t.Errorf("Upkeep: %s: %v", tn, err) })
			if err != nil || n != 1 {
				t.Fatalf("Upkeep = %d, %v", n, err)
			}
			mine, err := l.ObservationsOf(ctx, f.tenant, f.user)
			if err != nil {
				t.Fatal(err)
			}
			outcomes := map[string]int{}
			for _, o := range mine {
				if len(o.ID) < 4 || o.ID[:4] != "syn-" {
					outcomes[o.Outcome]++
				}
			}
			if outcomes["completed"] != 1 || outcomes["reported"] != 1 || outcomes["abandoned"] != 1 || len(outcomes) != 3 {
				t.Fatalf("outcomes of the real assessments = %v", outcomes)
			}
			doc, err := f.e.ModelDoc(ctx, f.tenant)
			if err != nil || doc.Version != "learned-1" || doc.Kind != risk.ModelKind || doc.Training.Samples != 603 ||
				doc.Training.Positives < 40 {
				t.Fatalf("ModelDoc = %+v, %v", doc, err)
			}
			if as := f.assess(t, risk.Attempt{Kind: risk.KindLogin, IP: home, UserAgent: browserUA, DeviceID: "dev-1"}); as.ModelVersion != "learned-1" {
				t.Fatalf("after training the attempt is scored by %q", as.ModelVersion)
			}
			// Not due again until the model ages.
			if n, _ := l.Upkeep(ctx, func(store.TenantID, error) {}); n != 0 {
				t.Fatalf("Upkeep retrained a fresh model: %d", n)
			}
			f.clk.add(risk.RetrainEvery + time.Minute)
			if n, _ := l.Upkeep(ctx, func(store.TenantID, error) {}); n != 1 {
				t.Fatalf("Upkeep did not retrain an aged model: %d", n)
			}
			if doc, _ := f.e.ModelDoc(ctx, f.tenant); doc.Version != "learned-2" {
				t.Fatalf("second version = %q", doc.Version)
			}
			if err := f.e.EraseUser(ctx, f.tenant, f.user); err != nil {
				t.Fatal(err)
			}
			if mine, _ := l.ObservationsOf(ctx, f.tenant, f.user); len(mine) != 0 {
				t.Fatalf("after EraseUser: %d assessments", len(mine))
			}
		})
	}
}

// BenchmarkLearnedProbability is the learned model's share of scoring.
func BenchmarkLearnedProbability(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	samples := synthetic(rng, 1000, 0.05)
	m, err := risk.Train(samples, risk.TrainOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := range b.N {
		s := samples[i%len(samples)]
		m.Probability(s.Vector, s.Features)
	}
}

// BenchmarkTrain is one training on 20,000 assessments, the most one
// tenant's training reads.
func BenchmarkTrain(b *testing.B) {
	samples := synthetic(rand.New(rand.NewPCG(3, 4)), risk.MaxTrainingSamples, 0.04)
	for range b.N {
		if _, err := risk.Train(samples, risk.TrainOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
