package store

import (
	"context"
	"time"
)

// RiskObservation is one assessed login the risk engine's learned model
// may train on: what was scored (Data, the engine's JSON of the signal
// vector and the user's profile features), the decision, and the outcome
// the system learned afterwards ("" while none is known). It is the
// user's personal data (export, erasure).
type RiskObservation struct {
	Tenant   TenantID
	ID       string
	UserID   string
	At       time.Time
	Data     string
	Score    int // 0..100
	Decision string
	Outcome  string
}

// RiskModel is one stored version of a tenant's learned model: Doc is the
// engine's JSON document (features, weights, training figures).
type RiskModel struct {
	Tenant    TenantID
	Version   int
	CreatedAt time.Time
	Doc       string
}

// RiskModels stores the learned model's training data and versions.
type RiskModels interface {
	// AddObservation stores o (o.Outcome may already be set).
	AddObservation(ctx context.Context, o *RiskObservation) error
	// SetNewestOutcome gives the user's newest observation without an
	// outcome, made at or after since, the outcome; ok is false when
	// there is none.
	SetNewestOutcome(ctx context.Context, tenant TenantID, userID string, since time.Time, outcome string) (ok bool, err error)
	// Relabel sets outcome to on the user's observations whose outcome is
	// from and whose score is at least minScore, made at or after since;
	// it answers how many.
	Relabel(ctx context.Context, tenant TenantID, userID, from, to string, since time.Time, minScore int) (int64, error)
	// Settle gives every observation of the tenant without an outcome,
	// made before before, whose decision is decision, the outcome.
	Settle(ctx context.Context, tenant TenantID, before time.Time, decision, outcome string) (int64, error)
	// ListLabelled answers the tenant's newest observations that have an
	// outcome, newest first, at most limit (clamped to
	// 1..MaxRiskObservations).
	ListLabelled(ctx context.Context, tenant TenantID, limit int) ([]RiskObservation, error)
	// ListUserObservations answers the user's observations, newest first
	// (a data export).
	ListUserObservations(ctx context.Context, tenant TenantID, userID string) ([]RiskObservation, error)
	// DeleteUserObservations deletes every observation of the user.
	DeleteUserObservations(ctx context.Context, tenant TenantID, userID string) error
	// Prune deletes the tenant's observations made before before, and
	// beyond the newest MaxRiskObservations; it answers how many.
	Prune(ctx context.Context, tenant TenantID, before time.Time) (int64, error)
	// TrainingDue answers up to limit tenants with at least minLabelled
	// labelled observations whose newest model was stored before before
	// (or that have none), most labelled first.
	TrainingDue(ctx context.Context, before time.Time, minLabelled, limit int) ([]TenantID, error)
	// PutModel stores a new version of the tenant's model: m.Version is
	// set to one above the newest; only the newest MaxRiskModelVersions
	// are kept.
	PutModel(ctx context.Context, m *RiskModel) error
	// LatestModel answers the tenant's newest model; ErrNotFound when
	// there is none.
	LatestModel(ctx context.Context, tenant TenantID) (*RiskModel, error)
}

// Bounds of the learned model's storage per tenant.
const (
	MaxRiskObservations  = 50000
	MaxRiskModelVersions = 10
)
