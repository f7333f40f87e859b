package risk

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The counter windows. Counts live in the store's throttle table (shared by
// every node) under keys of their own.
const (
	StuffingWindow = 10 * time.Minute
	SprayWindow    = time.Hour
	VelocityWindow = time.Hour
)

// AuditAction is the audit action of a login's assessment; a sign-up's
// is "signup.risk", a password reset's "reset.risk".
const AuditAction = "login.risk"

// Engine gathers an attempt's signals, scores them and keeps the history
// of completed sign-ins. Build it once; it is safe for concurrent use.
type Engine struct {
	Store store.Store
	// OpenAudit opens audit entries whose personal data is sealed (the
	// privacy service's crypto-shredding) before ClaimFor reads them; nil
	// reads them as stored.
	OpenAudit func(ctx context.Context, repos store.Repos, es []store.AuditEntry) error
	// Geo places addresses (nil: geographic signals off).
	Geo *GeoIP
	// Breached is the breached-password corpus (nil: off).
	Breached *Breached
	// Signals are scored (nil: DefaultSignals); Model scores them (nil:
	// Rules over Signals).
	Signals []Signal
	Model   Model
	// Learner keeps each tenant's learned model (learner.go): without a
	// Model, a tenant's newest learned version scores its attempts.
	Learner *Learner
	// Key keys the hashes of passwords the spraying counter uses; without
	// one spraying is not counted.
	Key   []byte
	Audit *events.Recorder
	Now   func() time.Time
	// Dash, when set, counts each sign-in's decision for the console
	// dashboard ("risk.allow", "risk.step_up", "risk.block").
	Dash interface {
		Add(tenant store.TenantID, metric string, n int64)
	}
}

func (e *Engine) signals() []Signal {
	if e.Signals == nil {
		return DefaultSignals()
	}
	return e.Signals
}

func (e *Engine) model() Model {
	if e.Model == nil {
		return Rules{Signals: e.signals()}
	}
	return e.Model
}

// Network is the network an address is judged by: its /24 (IPv4) or /48
// (IPv6); "" for anything that is not an address.
func Network(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	bits := 48
	if a.Is4() {
		bits = 24
	}
	p, err := a.Prefix(bits)
	if err != nil {
		return ""
	}
	return p.String()
}

// PasswordKey is the keyed hash (HMAC-SHA256 with the engine's key) the
// spraying counter counts a password by; "" without a key. The password
// itself is never kept.
func (e *Engine) PasswordKey(password string) string {
	if len(e.Key) == 0 || password == "" {
		return ""
	}
	m := hmac.New(sha256.New, e.Key)
	m.Write([]byte(password))
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// IsBreached reports whether password is in the breached corpus (false
// without one).
func (e *Engine) IsBreached(password string) (bool, error) { return e.Breached.Contains(password) }

// Policy answers the tenant's settings.risk.
func (e *Engine) Policy(ctx context.Context, tenant store.TenantID) (Policy, error) {
	t, err := e.Store.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return Policy{}, err
	}
	return ParsePolicy(t.Settings)
}

// Gather builds the Input of a (the store reads, the GeoIP lookups, the
// counters) under th.
func (e *Engine) Gather(ctx context.Context, tenant store.TenantID, a Attempt, th Thresholds) (*Input, error) {
	now := e.Now()
	in := &Input{Attempt: a, Now: now, Network: Network(a.IP), GeoOn: e.Geo.GeoOn(), ASNOn: e.Geo.ASNOn(), Thresholds: th}
	if addr, err := netip.ParseAddr(a.IP); err == nil {
		in.Place = e.Geo.Lookup(addr)
	}
	if a.UserID != "" {
		recs, err := e.Store.SignIns().ListSignIns(ctx, tenant, a.UserID, store.MaxSignInsPerUser)
		if err != nil {
			return nil, err
		}
		in.History = make([]SignIn, len(recs))
		for i, r := range recs {
			in.History[i] = fromRecord(r)
		}
		in.Features = Profile(in.History, now)
		profileAttempt(&in.Features, a, in.History)
	}
	th2 := e.Store.OAuth().Throttle()
	var err error
	if in.Network != "" {
		if in.NetworkAccounts, _, err = th2.Failures(ctx, tenant, "risk-n:"+in.Network, now, StuffingWindow); err != nil {
			return nil, err
		}
	}
	if a.PasswordKey != "" {
		if in.SprayAccounts, _, err = th2.Failures(ctx, tenant, "risk-p:"+a.PasswordKey, now, SprayWindow); err != nil {
			return nil, err
		}
	}
	if a.UserID != "" {
		if in.AccountNetworks, _, err = th2.Failures(ctx, tenant, "risk-a:"+a.UserID, now, VelocityWindow); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// Assess gathers and scores a for clientID's thresholds ("" for the
// tenant's). ok is false when the tenant turned the engine off.
func (e *Engine) Assess(ctx context.Context, tenant store.TenantID, clientID string, a Attempt) (as Assessment, p Policy, ok bool, err error) {
	if p, err = e.Policy(ctx, tenant); err != nil || p.Disabled {
		return as, p, false, err
	}
	th := p.For(clientID)
	in, err := e.Gather(ctx, tenant, a, th)
	if err != nil {
		return as, p, false, err
	}
	return Score(in, e.signals(), e.modelFor(ctx, tenant), th), p, true, nil
}

// Record writes the assessment's audit entry through repos: action
// AuditAction (or the kind's), target the user, and as changes the
// document {"score","decision","signals":[{"name","value","weight"}],
// "model_version"}.
func (e *Engine) Record(ctx context.Context, repos store.Repos, actor events.Actor, tenant store.TenantID, kind Kind, userID string, as Assessment) error {
	action := AuditAction
	if kind == KindSignUp || kind == KindReset {
		action = string(kind) + ".risk"
	}
	target := "user"
	if userID == "" {
		target = ""
	}
	if err := e.Audit.RecordDocument(ctx, repos, actor, events.Entry{Tenant: tenant, Action: action, TargetType: target, TargetID: userID},
		auditDoc{Score: as.Score, Decision: as.Decision, Signals: as.Signals, ModelVersion: as.ModelVersion}); err != nil {
		return err
	}
	if e.Dash != nil && kind == KindLogin {
		e.Dash.Add(tenant, store.DashRiskPrefix+string(as.Decision), 1)
	}
	if e.Learner != nil && kind == KindLogin && userID != "" {
		return e.Learner.note(ctx, repos, tenant, userID, as)
	}
	return nil
}

// auditDoc is the changes document of a risk audit entry.
type auditDoc struct {
	Score        int      `json:"score"`
	Decision     Decision `json:"decision"`
	Signals      []Hit    `json:"signals"`
	ModelVersion string   `json:"model_version"`
}

// NoteFailure counts a wrong password for the attack signals: acct is the
// throttle's account key, userID the account ("" for an unknown one),
// passwordKey the attempt's PasswordKey ("" for none). Each count is of
// distinct accounts or networks: a pair key remembers the first failure,
// and only a first one raises the total.
func (e *Engine) NoteFailure(ctx context.Context, tenant store.TenantID, acct, userID, ip, passwordKey string) error {
	th, now := e.Store.OAuth().Throttle(), e.Now()
	distinct := func(pair, total string, window time.Duration) error {
		n, err := th.Fail(ctx, tenant, pair, now, window)
		if err != nil || n != 1 {
			return err
		}
		_, err = th.Fail(ctx, tenant, total, now, window)
		return err
	}
	acctHash := shortHash(acct)
	network := Network(ip)
	if network != "" {
		if err := distinct("risk-na:"+network+"|"+acctHash, "risk-n:"+network, StuffingWindow); err != nil {
			return err
		}
	}
	if passwordKey != "" {
		if err := distinct("risk-pa:"+passwordKey+"|"+acctHash, "risk-p:"+passwordKey, SprayWindow); err != nil {
			return err
		}
	}
	if userID != "" && network != "" {
		if err := distinct("risk-an:"+userID+"|"+network, "risk-a:"+userID, VelocityWindow); err != nil {
			return err
		}
	}
	return nil
}

// Stuffed reports whether ip's network failed on at least the tenant's
// stuffing_accounts accounts within the stuffing window: every password
// attempt from it must then pass the proof-of-work challenge first.
func (e *Engine) Stuffed(ctx context.Context, tenant store.TenantID, ip string) (bool, error) {
	network := Network(ip)
	if network == "" {
		return false, nil
	}
	p, err := e.Policy(ctx, tenant)
	if err != nil {
		return false, err
	}
	limit := p.Thresholds.withDefaults().StuffingAccounts
	n, _, err := e.Store.OAuth().Throttle().Failures(ctx, tenant, "risk-n:"+network, e.Now(), StuffingWindow)
	return n >= limit, err
}

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:12])
}

// Completed records a completed sign-in of userID (never an attempt that
// stopped short): the history familiarity and travel are judged against.
func (e *Engine) Completed(ctx context.Context, tenant store.TenantID, userID, ip, userAgent, deviceID string) error {
	r := &store.SignInRecord{Tenant: tenant, ID: uuid.Must(uuid.NewV7()).String(), UserID: userID, At: e.Now(),
		Network: Network(ip), DeviceID: deviceID, UserAgent: userAgent}
	if addr, err := netip.ParseAddr(ip); err == nil {
		p := e.Geo.Lookup(addr)
		r.Country, r.City, r.Lat, r.Lon, r.HasGeo, r.ASN = p.Country, p.City, p.Lat, p.Lon, p.HasCoords, p.ASN
	}
	if err := e.Store.SignIns().AddSignIn(ctx, r); err != nil || e.Learner == nil {
		return err
	}
	return e.Learner.completed(ctx, tenant, userID)
}

// SignIns answers the user's recent completed sign-ins, newest first
// (the account page's list).
func (e *Engine) SignIns(ctx context.Context, tenant store.TenantID, userID string, limit int) ([]SignIn, error) {
	recs, err := e.Store.SignIns().ListSignIns(ctx, tenant, userID, limit)
	if err != nil {
		return nil, err
	}
	out := make([]SignIn, len(recs))
	for i, r := range recs {
		out[i] = fromRecord(r)
	}
	return out, nil
}

// ExportUser answers everything the engine keeps about the user (the
// sign-in history) for a data export.
func (e *Engine) ExportUser(ctx context.Context, tenant store.TenantID, userID string) ([]SignIn, error) {
	return e.SignIns(ctx, tenant, userID, store.MaxSignInsPerUser)
}

// EraseUser deletes everything the engine keeps about the user (the
// counters hold no user data beyond keyed hashes and expire by
// themselves).
func (e *Engine) EraseUser(ctx context.Context, tenant store.TenantID, userID string) error {
	if err := e.Store.RiskModels().DeleteUserObservations(ctx, tenant, userID); err != nil {
		return err
	}
	return e.Store.SignIns().DeleteSignIns(ctx, tenant, userID)
}

// Status is the engine's part of /readyz's details.
func (e *Engine) Status() map[string]string {
	st := e.Geo.Status()
	st["breached_passwords"] = e.Breached.Status()
	st["risk_model"] = e.model().Version()
	return st
}

func fromRecord(r store.SignInRecord) SignIn {
	return SignIn{ID: r.ID, At: r.At, Network: r.Network, Country: r.Country, City: r.City, Lat: r.Lat, Lon: r.Lon,
		HasGeo: r.HasGeo, ASN: r.ASN, DeviceID: r.DeviceID, UserAgent: r.UserAgent}
}

// Profile summarises history (newest first) for an attempt at now.
func Profile(history []SignIn, now time.Time) Features {
	f := Features{SignIns: len(history)}
	if len(history) == 0 {
		return f
	}
	countries, networks, asns, devices := map[string]bool{}, map[string]bool{}, map[uint32]bool{}, map[string]bool{}
	hour, near := now.UTC().Hour(), 0
	for _, s := range history {
		if s.Country != "" {
			countries[s.Country] = true
		}
		networks[s.Network] = true
		if s.ASN != 0 {
			asns[s.ASN] = true
		}
		if s.DeviceID != "" {
			devices[s.DeviceID] = true
		}
		d := (s.At.UTC().Hour() - hour + 24) % 24
		if d <= 1 || d == 23 {
			near++
		}
	}
	f.Countries, f.Networks, f.ASNs, f.Devices = len(countries), len(networks), len(asns), len(devices)
	f.HourShare = float64(near) / float64(len(history))
	f.SinceLast = now.Sub(history[0].At)
	if n := len(history); n > 1 {
		f.MeanInterval = history[0].At.Sub(history[n-1].At) / time.Duration(n-1)
	}
	return f
}

// Claim is the ID token's optional "risk" claim: the assessment of the
// sign-in that made the session.
type Claim struct {
	Score        int      `json:"score"`
	Decision     Decision `json:"decision"`
	Signals      []string `json:"signals"`
	ModelVersion string   `json:"model_version"`
}

// ClaimFor answers the assessment of the sign-in of userID that
// authenticated at authTime: the newest login.risk entry at or before it
// (the risk step writes it just before the session exists, or before the
// second factor it asked for). nil when there is none (the engine was off,
// or the login held two factors from the start).
func (e *Engine) ClaimFor(ctx context.Context, tenant store.TenantID, userID string, authTime time.Time) (*Claim, error) {
	es, err := e.Store.Audit().ListAudit(ctx, tenant, store.AuditQuery{Action: AuditAction, TargetType: "user", TargetID: userID,
		Until: authTime.Add(time.Millisecond), Limit: 1})
	if err != nil || len(es) == 0 {
		return nil, err
	}
	if e.OpenAudit != nil {
		if err := e.OpenAudit(ctx, e.Store, es); err != nil {
			return nil, err
		}
	}
	var doc auditDoc
	if err := json.Unmarshal(es[0].Changes, &doc); err != nil {
		return nil, err
	}
	c := &Claim{Score: doc.Score, Decision: doc.Decision, Signals: []string{}, ModelVersion: doc.ModelVersion}
	for _, h := range doc.Signals {
		c.Signals = append(c.Signals, h.Name)
	}
	return c, nil
}
