package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// TestRiskModelAPI: a tenant without a learned model shows the rules;
// real sign-ins through the pages leave labelled assessments; once the
// tenant holds enough labels the upkeep trains its first version, which
// the API then shows with every input's weight; another tenant's key
// reads nothing of it.
func TestRiskModelAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		ta := newTestApp(t, be)
		tn, other := ta.tenant("riskmodel"), ta.tenant("elsewhere")
		key, otherKey := ta.key(tn.ID, tenancy.ScopeRead), ta.key(other.ID, tenancy.ScopeRead)
		read := func(token string) (int, risk.ModelDoc) {
			t.Helper()
			res := ta.get("/api/v1/tenants/riskmodel/risk/model", token)
			var d risk.ModelDoc
			if res.status == http.StatusOK {
				if err := json.Unmarshal(res.body, &d); err != nil {
					t.Fatal(err)
				}
			}
			return res.status, d
		}
		if st, d := read(key); st != http.StatusOK || d.Kind != "rules" || d.Version != risk.RulesVersion || len(d.Features) != risk.NumSignals {
			t.Fatalf("without a model: %d %+v", st, d)
		}
		if st, _ := read(otherKey); st != http.StatusForbidden && st != http.StatusNotFound {
			t.Fatalf("another tenant's key: %d", st)
		}
		u := ta.userWithPassword(tn.ID, "rita@example.com", "correct horse battery")
		for range 2 {
			ta.browser().signIn("riskmodel", "rita@example.com", "correct horse battery")
		}
		ctx := context.Background()
		obs, err := ta.DB.RiskModels().ListUserObservations(ctx, tn.ID, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(obs) != 2 || obs[0].Outcome != string(risk.OutcomeCompleted) || obs[1].Outcome != string(risk.OutcomeCompleted) {
			t.Fatalf("assessments of two completed sign-ins: %+v", obs)
		}
		// The rest of the tenant's labelled history.
		rng := rand.New(rand.NewPCG(9, 9))
		nd, nn := risk.Index(risk.NewDevice), risk.Index(risk.NewNetwork)
		for i := range 400 {
			var v risk.Vector
			f := risk.Features{SignIns: 30, Countries: 1, Networks: 3, Devices: 2, HourShare: 0.5, UserAgents: 1, UserAgentSeen: true}
			outcome := risk.OutcomeCompleted
			if i%10 == 0 {
				v[nd], v[nn], f.HourShare, outcome = 1, 1, 0, risk.OutcomeReported
			} else if rng.Float64() < 0.1 {
				v[nd] = 1
			}
			data, _ := json.Marshal(map[string]any{"vector": v, "features": f})
			if err := ta.DB.RiskModels().AddObservation(ctx, &store.RiskObservation{Tenant: tn.ID, ID: fmt.Sprintf("syn-%d", i),
				UserID: u.ID, At: time.Now().Add(-time.Duration(i) * time.Minute), Data: string(data), Decision: "allow",
				Outcome: string(outcome)}); err != nil {
				t.Fatal(err)
			}
		}
		ta.upkeep(ctx)
		st, d := read(key)
		if st != http.StatusOK || d.Kind != risk.ModelKind || d.Version != "learned-1" || len(d.Features) != risk.NumModelFeatures ||
			d.Training.Samples != 402 || d.Training.Positives != 40 || d.TrainedAt.IsZero() {
			t.Fatalf("after the upkeep: %d %+v", st, d)
		}
		weights := map[string]float64{}
		for _, f := range d.Features {
			if f.Explain == "" {
				t.Fatalf("feature %s has no explanation", f.Name)
			}
			weights[f.Name] = f.Weight
		}
		if weights["new_device_x_new_network"] <= 0 {
			t.Fatalf("the model did not learn that a new device on a new network is risky: %v", weights)
		}
		if st, _ := read(otherKey); st != http.StatusForbidden && st != http.StatusNotFound {
			t.Fatalf("another tenant's key after training: %d", st)
		}
	})
}
