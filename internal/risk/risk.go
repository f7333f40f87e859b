// Package risk is adaptive authentication: it scores one attempt (a login,
// a sign-up, a password reset) from a fixed vector of signals, each a small
// type with a name, a weight and an explanation, and maps the score to a
// decision by the tenant's thresholds (allow, step_up, block, and notify
// alongside allow). Gathering (the store reads, GeoIP lookups, counters) is
// separate from scoring, which is pure and cheap, so a learned model can add
// its probability from the same vector (Model). It knows nothing of HTTP.
package risk

import (
	"math"
	"time"
)

// The names of the signals, as they appear in audit entries. The order is
// the order of a Vector.
const (
	NewDevice          = "new_device"
	NewNetwork         = "new_network"
	NewASN             = "new_asn"
	NewCountry         = "new_country"
	ImpossibleTravel   = "impossible_travel"
	CredentialStuffing = "credential_stuffing"
	PasswordSpraying   = "password_spraying"
	Velocity           = "velocity"
	BreachedPassword   = "breached_password"
	Bot                = "bot"
)

// NumSignals is the length of a Vector.
const NumSignals = 10

// Names are the signal names in Vector order.
var Names = [NumSignals]string{NewDevice, NewNetwork, NewASN, NewCountry, ImpossibleTravel,
	CredentialStuffing, PasswordSpraying, Velocity, BreachedPassword, Bot}

// Index answers the position of a signal name in a Vector, -1 for none.
func Index(name string) int {
	for i, n := range Names {
		if n == name {
			return i
		}
	}
	return -1
}

// Vector holds each signal's value in [0, 1] (0: not raised), in Names
// order. It is what rules and models score.
type Vector [NumSignals]float64

// Kind is what an attempt is for.
type Kind string

// The kinds of attempts the engine assesses.
const (
	KindLogin  Kind = "login"
	KindSignUp Kind = "signup"
	KindReset  Kind = "reset"
)

// Attempt is what the caller knows of one attempt. The engine adds what
// the store, the GeoIP databases and the counters know (Gather).
type Attempt struct {
	Kind Kind
	// UserID is the account ("" at a sign-up, or for an unknown account).
	UserID string
	// IP is the client address (behind trusted proxies, the forwarded one).
	IP        string
	UserAgent string
	// DeviceID is the id of the user's known device the browser's signed
	// device cookie names ("" for none or another user's).
	DeviceID string
	// NoCookies: the browser sent no cookie at all (a client without
	// cookie support). Callers that cannot tell leave it false.
	NoCookies bool
	// Elapsed is the time from showing the form to its submission; 0 when
	// unknown.
	Elapsed time.Duration
	// PasswordKey is the keyed hash of the password tried (Engine.PasswordKey),
	// never the password; nil when the attempt had none.
	PasswordKey string
	// Breached: the password tried is in the breached-password corpus.
	Breached bool
}

// Place is where an address is, as far as the GeoIP databases tell. Zero
// fields are unknown.
type Place struct {
	Country string // ISO 3166-1 alpha-2
	City    string
	Lat     float64
	Lon     float64
	// HasCoords: Lat and Lon are known (0,0 is a real place).
	HasCoords bool
	ASN       uint32
}

// Features describe the user's own history of completed sign-ins: the
// behavioural profile a model reads beside the signals. Zero for a user
// without history.
type Features struct {
	// SignIns is the number of completed sign-ins the engine keeps.
	SignIns int
	// Countries, Networks, ASNs and Devices count the distinct values.
	Countries, Networks, ASNs, Devices int
	// HourShare is the share of past sign-ins within an hour (UTC) of
	// this attempt's hour of day.
	HourShare float64
	// SinceLast is the time since the last completed sign-in (0: none).
	SinceLast time.Duration
	// MeanInterval is the mean time between past sign-ins (0: fewer
	// than two).
	MeanInterval time.Duration
}

// Input is everything the signals read: the attempt, what the engine
// gathered, the user's history and the counters. Signals only read it.
type Input struct {
	Attempt Attempt
	Now     time.Time
	// Network is the attempt's /24 (IPv4) or /48 (IPv6); "" when the
	// address is not one.
	Network string
	Place   Place
	// GeoOn and ASNOn say whether the databases are loaded.
	GeoOn, ASNOn bool
	// History are the user's completed sign-ins, newest first.
	History []SignIn
	// Features summarise History for this attempt.
	Features Features
	// NetworkAccounts is the number of accounts that failed from this
	// network in the stuffing window; SprayAccounts the number of
	// accounts that failed with this attempt's password in the spraying
	// window; AccountNetworks the networks this account failed from in
	// the velocity window.
	NetworkAccounts, SprayAccounts, AccountNetworks int
	Thresholds                                      Thresholds
}

// SignIn is one completed sign-in the engine keeps (personal data: the
// user's history; export and erase through the Engine).
type SignIn struct {
	ID      string    `json:"id"`
	At      time.Time `json:"at"`
	Network string    `json:"network"`
	Country string    `json:"country,omitempty"`
	City    string    `json:"city,omitempty"`
	Lat     float64   `json:"lat,omitempty"`
	Lon     float64   `json:"lon,omitempty"`
	HasGeo  bool      `json:"has_geo"`
	ASN     uint32    `json:"asn,omitempty"`
	// DeviceID is the known device (device cookie) it came from, if any.
	DeviceID  string `json:"device_id,omitempty"`
	UserAgent string `json:"user_agent,omitempty"`
}

// Signal is one risk signal: a small type with a name, a weight (the
// points it adds to the rules score at full strength) and an explanation.
type Signal interface {
	Name() string
	Weight() float64
	// Explain says in one sentence what raises the signal.
	Explain() string
	// Eval answers the signal's value in [0, 1] for in; it reads only in.
	Eval(in *Input) float64
}

// Hit is a raised signal as an audit entry names it.
type Hit struct {
	Name   string  `json:"name"`
	Value  float64 `json:"value"`
	Weight float64 `json:"weight"`
}

// Model turns a signal vector and the user's profile features into the
// probability, in [0, 1], that the attempt is not the account's owner.
// Implementations must be safe for concurrent use and cheap (no I/O: the
// engine calls it on every attempt). Version names the model in audit
// entries.
type Model interface {
	Version() string
	Probability(v Vector, f Features) float64
}

// Rules is the default Model: the weighted sum of the signals, capped at
// 100, read as a probability (score / 100). Its weights are the signals'.
type Rules struct{ Signals []Signal }

var _ Model = Rules{}

// RulesVersion is the model_version of audit entries scored by Rules.
const RulesVersion = "rules-1"

// Version names the rules.
func (Rules) Version() string { return RulesVersion }

// Probability is the capped weighted sum over 100.
func (r Rules) Probability(v Vector, _ Features) float64 {
	sum := 0.0
	for _, s := range r.Signals {
		if i := Index(s.Name()); i >= 0 {
			sum += v[i] * s.Weight()
		}
	}
	return math.Min(sum, 100) / 100
}

// Decision is what the score leads to.
type Decision string

// The decisions.
const (
	Allow  Decision = "allow"
	StepUp Decision = "step_up"
	Block  Decision = "block"
)

// Assessment is the engine's answer for one attempt.
type Assessment struct {
	// Score is 0..100.
	Score    int      `json:"score"`
	Decision Decision `json:"decision"`
	// Notify: the score reached the notify threshold (the user is told of
	// the sign-in).
	Notify bool `json:"notify,omitempty"`
	// Signals are the raised signals, in Names order.
	Signals      []Hit  `json:"signals"`
	ModelVersion string `json:"model_version"`
	// Vector and Features are what was scored (not audited as such).
	Vector   Vector   `json:"-"`
	Features Features `json:"-"`
	// Place is where the attempt came from (for the sign-in record).
	Place   Place  `json:"-"`
	Network string `json:"-"`
}

// Raised reports whether the signal name is among the hits.
func (a *Assessment) Raised(name string) bool {
	for _, h := range a.Signals {
		if h.Name == name {
			return true
		}
	}
	return false
}

// Score scores in with signals and m and decides by th. It is pure: the
// whole cost of an assessment once Input is gathered.
func Score(in *Input, signals []Signal, m Model, th Thresholds) Assessment {
	a := Assessment{Decision: Allow, ModelVersion: m.Version(), Signals: []Hit{}, Place: in.Place, Network: in.Network,
		Features: in.Features}
	for _, s := range signals {
		i := Index(s.Name())
		if i < 0 {
			continue
		}
		v := math.Max(0, math.Min(1, s.Eval(in)))
		a.Vector[i] = v
		if v > 0 {
			a.Signals = append(a.Signals, Hit{Name: s.Name(), Value: math.Round(v*100) / 100, Weight: s.Weight()})
		}
	}
	p := m.Probability(a.Vector, in.Features)
	a.Score = int(math.Round(math.Max(0, math.Min(1, p)) * 100))
	a.Decision, a.Notify = th.Decide(a.Score)
	return a
}
