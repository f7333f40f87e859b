package risk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Learner keeps each tenant's learned model: it stores every assessed
// login (the vector and profile scored, the decision), labels it from
// what the system learns afterwards (Outcome), trains a new version in
// the background (Upkeep), and answers the tenant's newest version to the
// engine. It is safe for concurrent use.
type Learner struct {
	Store store.Store
	Now   func() time.Time

	mu    sync.Mutex
	cache map[store.TenantID]cachedModel
}

type cachedModel struct {
	m  *Learned // nil: the tenant has none
	at time.Time
}

// The learner's clocks and bounds.
const (
	// ModelCacheTTL is how long a node serves a tenant's model before it
	// looks for a newer version (another node may have trained one).
	ModelCacheTTL = time.Minute
	// CompletionWindow: a completed sign-in labels the user's newest
	// assessment made within it (the step-up's second factor included).
	CompletionWindow = 30 * time.Minute
	// SettleAfter: an assessment still without an outcome after this long
	// is settled: a step-up is abandoned, anything else incomplete (not
	// trained on).
	SettleAfter = time.Hour
	// ReportWindow: a "this was not me" report relabels the user's
	// completed sign-ins of this many days before it (the lifetime of the
	// notice's link).
	ReportWindow = 7 * 24 * time.Hour
	// ObservationHorizon: older assessments are deleted.
	ObservationHorizon = 90 * 24 * time.Hour
	// RetrainEvery is the age of a tenant's model after which the upkeep
	// trains a new one.
	RetrainEvery = 24 * time.Hour
	// MaxTrainingSamples bounds one training (the newest labelled
	// assessments); MaxTrainingsPerRun the tenants one upkeep trains.
	MaxTrainingSamples = 20000
	MaxTrainingsPerRun = 20
)

// OutcomeIncomplete is the settled outcome of an allowed assessment whose
// sign-in never completed (a wrong second factor, a closed tab): no label.
const OutcomeIncomplete Outcome = "incomplete"

// observation is the stored Data of an assessment.
type observation struct {
	Vector   Vector   `json:"vector"`
	Features Features `json:"features"`
	Score    int      `json:"score"`
	Model    string   `json:"model_version"`
}

// Model answers the tenant's newest learned model, nil when it has none
// (or it could not be read: the rules score then).
func (l *Learner) Model(ctx context.Context, tenant store.TenantID) Model {
	now := l.Now()
	l.mu.Lock()
	c, ok := l.cache[tenant]
	l.mu.Unlock()
	if !ok || now.Sub(c.at) >= ModelCacheTTL {
		c = cachedModel{at: now}
		if m, err := l.latest(ctx, tenant); err == nil {
			c.m = m
		}
		l.mu.Lock()
		if l.cache == nil {
			l.cache = map[store.TenantID]cachedModel{}
		}
		l.cache[tenant] = c
		l.mu.Unlock()
	}
	if c.m == nil {
		return nil
	}
	return c.m
}

func (l *Learner) latest(ctx context.Context, tenant store.TenantID) (*Learned, error) {
	rec, err := l.Store.RiskModels().LatestModel(ctx, tenant)
	if err != nil {
		return nil, err
	}
	return loadRecord(rec)
}

func loadRecord(rec *store.RiskModel) (*Learned, error) {
	var d ModelDoc
	if err := json.Unmarshal([]byte(rec.Doc), &d); err != nil {
		return nil, fmt.Errorf("risk: model document: %w", err)
	}
	d.Version = fmt.Sprintf("learned-%d", rec.Version)
	return fromDoc(d)
}

// note stores an assessed login through repos (the audit entry's
// transaction). A blocked one is labelled at once.
func (l *Learner) note(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string, as Assessment) error {
	data, err := json.Marshal(observation{Vector: as.Vector, Features: as.Features, Score: as.Score, Model: as.ModelVersion})
	if err != nil {
		return err
	}
	o := &store.RiskObservation{Tenant: tenant, ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, At: l.Now(),
		Data: string(data), Score: as.Score, Decision: string(as.Decision)}
	if as.Decision == Block {
		o.Outcome = string(OutcomeBlocked)
	}
	return repos.RiskModels().AddObservation(ctx, o)
}

// completed labels the user's newest pending assessment: the sign-in
// completed.
func (l *Learner) completed(ctx context.Context, tenant store.TenantID, userID string) error {
	_, err := l.Store.RiskModels().SetNewestOutcome(ctx, tenant, userID, l.Now().Add(-CompletionWindow), string(OutcomeCompleted))
	return err
}

var _ events.Observer = (*Learner)(nil)

// Observe is told of every audit entry (Recorder.Observers): a
// "this was not me" report (user.secure) relabels the user's completed
// sign-ins of the report window that raised any signal (score above 0) as
// not the owner's. A sign-in without any signal looks like the owner in
// every input the model reads; labelling it would only teach noise.
func (l *Learner) Observe(ctx context.Context, repos store.Repos, _ events.Actor, e events.Entry) error {
	if e.Action != "user.secure" || e.TargetType != "user" || e.TargetID == "" {
		return nil
	}
	_, err := repos.RiskModels().Relabel(ctx, e.Tenant, e.TargetID, string(OutcomeCompleted), string(OutcomeReported),
		l.Now().Add(-ReportWindow), 1)
	return err
}

// ErrNoBetter: the trained model ranked the training set's attempts no
// better than the rules do; it is not stored.
var ErrNoBetter = errors.New("risk: the trained model is no better than the rules")

// Retrain settles the tenant's pending assessments, trains a model on
// the newest labelled ones and stores it as the tenant's next version.
func (l *Learner) Retrain(ctx context.Context, tenant store.TenantID) (*Learned, error) {
	now, rep := l.Now(), l.Store.RiskModels()
	for _, s := range []struct{ decision, outcome string }{{string(StepUp), string(OutcomeAbandoned)},
		{string(Allow), string(OutcomeIncomplete)}} {
		if _, err := rep.Settle(ctx, tenant, now.Add(-SettleAfter), s.decision, s.outcome); err != nil {
			return nil, err
		}
	}
	if _, err := rep.Prune(ctx, tenant, now.Add(-ObservationHorizon)); err != nil {
		return nil, err
	}
	obs, err := rep.ListLabelled(ctx, tenant, MaxTrainingSamples)
	if err != nil {
		return nil, err
	}
	samples := make([]Sample, 0, len(obs))
	for _, o := range obs {
		label, weight, ok := Outcome(o.Outcome).Label()
		var d observation
		if !ok || json.Unmarshal([]byte(o.Data), &d) != nil {
			continue
		}
		samples = append(samples, Sample{Vector: d.Vector, Features: d.Features, Label: label, Weight: weight})
	}
	stepUp := DefaultThresholds().StepUp
	if t, err := l.Store.Tenants().GetTenant(ctx, tenant); err == nil {
		if p, err := ParsePolicy(t.Settings); err == nil && p.Thresholds.StepUp > 0 {
			stepUp = p.Thresholds.StepUp
		}
	}
	m, err := Train(samples, TrainOptions{Now: now, StepUp: stepUp})
	if err != nil {
		return nil, err
	}
	if m.doc.Training.AUC < m.doc.Training.RulesAUC {
		return nil, fmt.Errorf("%w (ROC-AUC %.3f, rules %.3f)", ErrNoBetter, m.doc.Training.AUC, m.doc.Training.RulesAUC)
	}
	doc, err := json.Marshal(m.doc)
	if err != nil {
		return nil, err
	}
	rec := &store.RiskModel{Tenant: tenant, CreatedAt: now, Doc: string(doc)}
	if err := rep.PutModel(ctx, rec); err != nil {
		return nil, err
	}
	m, err = loadRecord(rec)
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	if l.cache == nil {
		l.cache = map[store.TenantID]cachedModel{}
	}
	l.cache[tenant] = cachedModel{m: m, at: now}
	l.mu.Unlock()
	return m, nil
}

// Upkeep trains the tenants whose model is older than RetrainEvery (or
// that have none) and hold enough labelled assessments, at most
// MaxTrainingsPerRun of them; fail reports each tenant's error (too few
// labels, no better than the rules) and the run goes on.
func (l *Learner) Upkeep(ctx context.Context, fail func(store.TenantID, error)) (trained int, err error) {
	due, err := l.Store.RiskModels().TrainingDue(ctx, l.Now().Add(-RetrainEvery), MinPositives+MinNegatives, MaxTrainingsPerRun)
	if err != nil {
		return 0, err
	}
	for _, t := range due {
		if ctx.Err() != nil {
			return trained, ctx.Err()
		}
		if _, err := l.Retrain(ctx, t); err != nil {
			fail(t, err)
			continue
		}
		trained++
	}
	return trained, nil
}

// RulesDoc is the document of the rules, for a tenant without a learned
// model: each signal's weight (points at full strength) and explanation.
func RulesDoc(signals []Signal) ModelDoc {
	d := ModelDoc{Version: RulesVersion, Kind: "rules"}
	for _, s := range signals {
		d.Features = append(d.Features, DocFeature{Name: s.Name(), Weight: s.Weight(), Explain: s.Explain()})
	}
	return d
}

// ModelDoc answers the document of the model that scores the tenant's
// attempts: its newest learned version, or the rules.
func (e *Engine) ModelDoc(ctx context.Context, tenant store.TenantID) (ModelDoc, error) {
	if e.Model == nil && e.Learner != nil {
		m, err := e.Learner.latest(ctx, tenant)
		if err == nil {
			return m.Doc(), nil
		}
		if !errors.Is(err, store.ErrNotFound) && !errors.Is(err, ErrModelShape) {
			return ModelDoc{}, err
		}
	}
	if l, ok := e.model().(*Learned); ok {
		return l.Doc(), nil
	}
	return RulesDoc(e.signals()), nil
}

// modelFor is the model that scores the tenant's attempts: the engine's
// own when set, else the tenant's learned one, else the rules.
func (e *Engine) modelFor(ctx context.Context, tenant store.TenantID) Model {
	if e.Model == nil && e.Learner != nil {
		if m := e.Learner.Model(ctx, tenant); m != nil {
			return m
		}
	}
	return e.model()
}

// ObservationsOf answers the assessments the learner keeps of the user
// (personal data: a data export).
func (l *Learner) ObservationsOf(ctx context.Context, tenant store.TenantID, userID string) ([]store.RiskObservation, error) {
	return l.Store.RiskModels().ListUserObservations(ctx, tenant, userID)
}
