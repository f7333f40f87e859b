package main

import (
	"context"
	"testing"
	"time"
)

// TestTargets replays a smaller world (1,000 users) and holds the rules
// with the model to the targets: on the held-out half, recall at least
// 0.95 on takeover attempts with the right password at a false-positive
// rate at most 1% on the owners' sign-ins, and scoring at most 1 ms p99.
func TestTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("replays about 10,000 attempts through SQLite")
	}
	cfg := defaultConfig()
	cfg.Users, cfg.Days, cfg.Seed = 1000, 10, 7
	rep, err := run(context.Background(), cfg, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ru, mo := rep.metrics(false), rep.metrics(true)
	t.Logf("rules: %+v", ru)
	t.Logf("rules + model: %+v", mo)
	if mo.Positives < 50 || mo.Legit < 1000 {
		t.Fatalf("held out %d attacks, %d owners' sign-ins: too few to measure", mo.Positives, mo.Legit)
	}
	if mo.Recall < 0.95 {
		t.Errorf("recall with the model = %.3f, want >= 0.95", mo.Recall)
	}
	if mo.FPR > 0.01 {
		t.Errorf("false-positive rate with the model = %.4f, want <= 0.01", mo.FPR)
	}
	if mo.AUC < ru.AUC {
		t.Errorf("ROC-AUC with the model %.4f below the rules' %.4f", mo.AUC, ru.AUC)
	}
	if p := p99(rep.modelLat); p > time.Millisecond {
		t.Errorf("scoring p99 = %s, want <= 1ms", p)
	}
	if rep.model.Doc().Training.Samples != rep.trainN {
		t.Errorf("the model's document says %d samples, the replay trained on %d", rep.model.Doc().Training.Samples, rep.trainN)
	}
}
