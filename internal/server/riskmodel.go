package server

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// newRiskLearner builds the learner of the tenants' risk models and has it
// told of the audit entries ("this was not me" reports label assessments).
func newRiskLearner(db store.Store, rec *events.Recorder, now func() time.Time) *risk.Learner {
	l := &risk.Learner{Store: db, Now: now}
	rec.Observers = append(rec.Observers, l)
	return l
}

// riskUpkeep trains the tenants' risk models that are due (bounded per
// run: risk.MaxTrainingsPerRun tenants of at most risk.MaxTrainingSamples
// assessments each). A tenant with too few labels keeps the rules.
func (a *App) riskUpkeep(ctx context.Context) {
	if a.Risk == nil || a.Risk.Learner == nil {
		return
	}
	n, err := a.Risk.Learner.Upkeep(ctx, func(t store.TenantID, err error) {
		if errors.Is(err, risk.ErrTooFewSamples) || errors.Is(err, risk.ErrNoBetter) {
			a.Log.Debug("risk model not trained", "tenant", string(t), "reason", err.Error())
			return
		}
		a.Log.Warn("risk model training", "tenant", string(t), "err", err)
	})
	if err != nil && ctx.Err() == nil {
		a.Log.Warn("risk model upkeep", "err", err)
	} else if n > 0 {
		a.Log.Info("trained risk models", "tenants", n)
	}
}
