package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// newRiskEngine builds the risk engine from the configured data files:
// a file that is named but unreadable stops the start-up; a file not named
// turns its signals off (and /readyz says so). The password-spraying
// counter's key is derived from the master key.
func newRiskEngine(cfg config.Config, db store.Store, masterKey []byte, rec *events.Recorder, now func() time.Time) (*risk.Engine, error) {
	geo, err := risk.OpenGeoIP(cfg.Risk.GeoIPDB, cfg.Risk.GeoIPASNDB)
	if err != nil {
		return nil, err
	}
	var breached *risk.Breached
	if cfg.Risk.BreachedPasswords != "" {
		if breached, err = risk.OpenBreached(cfg.Risk.BreachedPasswords); err != nil {
			geo.Close()
			return nil, err
		}
	}
	m := hmac.New(sha256.New, masterKey)
	m.Write([]byte("gatehouse-risk-password-key"))
	return &risk.Engine{Store: db, Geo: geo, Breached: breached, Key: m.Sum(nil), Audit: rec, Now: now}, nil
}
