package risk

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"
)

// The learned model: a logistic regression over the signal vector, the
// rules' own score and the user's behavioural profile (Features), with a
// few products of signals and profile that a linear model cannot form by
// itself (a new device at an hour the user never signs in is worse than
// either alone). It is trained per tenant on the tenant's labelled
// assessments (Train), versioned, stored as a JSON document whose every
// feature has a name, a weight and an explanation, and scored in well
// under a microsecond: a dot product and a sigmoid.

// ModelFeature is one input of the learned model.
type ModelFeature struct {
	Name    string
	Explain string
	// f computes the input, in about [0, 1], from the vector, the rules'
	// probability and the profile.
	f func(v *Vector, rules float64, p *Features) float64
}

// oddHour is 1 - the share of the user's sign-ins near this hour, for a
// user with enough history to have habits (at least minHabit sign-ins),
// else 0.
func oddHour(p *Features) float64 {
	if p.SignIns < minHabit {
		return 0
	}
	return 1 - p.HourShare
}

// minHabit is the number of sign-ins after which a user's hours, devices
// and places count as habits.
const minHabit = 5

func sig(name string) func(v *Vector, _ float64, _ *Features) float64 {
	i := Index(name)
	return func(v *Vector, _ float64, _ *Features) float64 { return v[i] }
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// modelFeatures are the learned model's inputs, in weight order. Adding
// one changes the model's shape: stored models name their features, and a
// stored model whose names differ is not loaded (the rules score until
// the next training).
var modelFeatures = func() []ModelFeature {
	fs := make([]ModelFeature, 0, NumSignals+16)
	for _, n := range Names {
		fs = append(fs, ModelFeature{Name: n, Explain: "the signal " + n + " (0..1)", f: sig(n)})
	}
	nd, nn, nc, na := Index(NewDevice), Index(NewNetwork), Index(NewCountry), Index(NewASN)
	return append(fs,
		ModelFeature{"rules_score", "the rules' score over 100 (the weighted sum of the signals)",
			func(_ *Vector, r float64, _ *Features) float64 { return r }},
		ModelFeature{"no_history", "the user has no completed sign-in yet",
			func(_ *Vector, _ float64, p *Features) float64 { return b2f(p.SignIns == 0) }},
		ModelFeature{"history_size", "log of the number of completed sign-ins kept, over log 51",
			func(_ *Vector, _ float64, p *Features) float64 { return math.Log1p(float64(p.SignIns)) / math.Log(51) }},
		ModelFeature{"odd_hour", "1 - the share of the user's sign-ins within an hour of this one's hour (after 5 sign-ins)",
			func(_ *Vector, _ float64, p *Features) float64 { return oddHour(p) }},
		ModelFeature{"since_last", "log of the hours since the last completed sign-in, over log of 90 days",
			func(_ *Vector, _ float64, p *Features) float64 {
				if p.SignIns == 0 {
					return 0
				}
				return clamp01(math.Log1p(p.SinceLast.Hours()) / math.Log1p(90*24))
			}},
		ModelFeature{"interval_ratio", "how much sooner (+) or later (-) than the user's mean interval this sign-in comes (log ratio, -1..1)",
			func(_ *Vector, _ float64, p *Features) float64 {
				if p.MeanInterval <= 0 || p.SinceLast <= 0 {
					return 0
				}
				return math.Max(-1, math.Min(1, math.Log(p.MeanInterval.Hours()/math.Max(p.SinceLast.Hours(), 0.01))/5))
			}},
		ModelFeature{"countries", "the number of countries the user signed in from (capped at 5), over 5",
			func(_ *Vector, _ float64, p *Features) float64 { return math.Min(float64(p.Countries), 5) / 5 }},
		ModelFeature{"network_spread", "distinct networks over sign-ins (a user who roams has a high spread)",
			func(_ *Vector, _ float64, p *Features) float64 {
				if p.SignIns == 0 {
					return 0
				}
				return float64(p.Networks) / float64(p.SignIns)
			}},
		ModelFeature{"devices", "the number of the user's known devices (capped at 5), over 5",
			func(_ *Vector, _ float64, p *Features) float64 { return math.Min(float64(p.Devices), 5) / 5 }},
		ModelFeature{"new_user_agent", "the browser family (user agent without versions) is none the user signed in with",
			func(_ *Vector, _ float64, p *Features) float64 { return b2f(p.SignIns > 0 && !p.UserAgentSeen) }},
		ModelFeature{"new_device_x_odd_hour", "a new device at an hour the user rarely signs in",
			func(v *Vector, _ float64, p *Features) float64 { return v[nd] * oddHour(p) }},
		ModelFeature{"new_network_x_odd_hour", "a new network at an hour the user rarely signs in",
			func(v *Vector, _ float64, p *Features) float64 { return v[nn] * oddHour(p) }},
		ModelFeature{"new_device_x_new_network", "a new device on a new network",
			func(v *Vector, _ float64, _ *Features) float64 { return v[nd] * v[nn] }},
		ModelFeature{"new_device_x_new_asn", "a new device on a new provider",
			func(v *Vector, _ float64, _ *Features) float64 { return v[nd] * v[na] }},
		ModelFeature{"new_country_x_homebody", "a new country for a user who signed in from one country only",
			func(v *Vector, _ float64, p *Features) float64 { return v[nc] * b2f(p.Countries <= 1) }},
		ModelFeature{"new_country_x_new_device", "a new country with a new device",
			func(v *Vector, _ float64, _ *Features) float64 { return v[nc] * v[nd] }},
	)
}()

// ModelFeatures answers the names and explanations of the learned
// model's inputs, in weight order.
func ModelFeatures() []ModelFeature { return modelFeatures }

// NumModelFeatures is the number of the learned model's inputs.
var NumModelFeatures = len(modelFeatures)

// rulesWeights are the default signals' weights in Vector order: the
// rules_score input, computed from the vector alone.
var rulesWeights = func() (w Vector) {
	for _, s := range DefaultSignals() {
		w[Index(s.Name())] = s.Weight()
	}
	return w
}()

func rulesProbability(v *Vector) float64 {
	sum := 0.0
	for i, x := range v {
		sum += x * rulesWeights[i]
	}
	return math.Min(sum, 100) / 100
}

// Featurize fills x (len NumModelFeatures) with the learned model's
// inputs for v and p.
func Featurize(x []float64, v Vector, p Features) {
	r := rulesProbability(&v)
	for i := range modelFeatures {
		x[i] = modelFeatures[i].f(&v, r, &p)
	}
}

// Learned is a trained logistic regression: the probability that an
// attempt is not the account's owner is sigmoid(Bias + Σ Weights·inputs).
// It is immutable once built, so safe for concurrent use.
type Learned struct {
	version string
	bias    float64
	weights []float64
	doc     ModelDoc
}

var _ Model = (*Learned)(nil)

// Version names the model in audit entries, "learned-<n>".
func (m *Learned) Version() string { return m.version }

// Probability is sigmoid(bias + weights · Featurize(v, f)).
func (m *Learned) Probability(v Vector, f Features) float64 {
	var buf [64]float64
	x := buf[:len(modelFeatures)]
	Featurize(x, v, f)
	z := m.bias
	for i, w := range m.weights {
		z += w * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// Doc answers the model's document: what the management API shows and
// the store keeps.
func (m *Learned) Doc() ModelDoc { return m.doc }

// ModelDoc is a learned model as JSON: its version, when and on what it
// was trained, how well it did there, and every input with its weight.
type ModelDoc struct {
	Version   string         `json:"version"`
	Kind      string         `json:"kind"`
	TrainedAt time.Time      `json:"trained_at,omitzero"`
	Bias      float64        `json:"bias,omitzero"`
	Features  []DocFeature   `json:"features"`
	Training  TrainingReport `json:"training,omitzero"`
}

// DocFeature is one input of a ModelDoc.
type DocFeature struct {
	Name    string  `json:"name"`
	Weight  float64 `json:"weight"`
	Explain string  `json:"explain"`
}

// ModelKind is the Kind of a learned model's document.
const ModelKind = "logistic_regression"

// ErrModelShape: a stored model's inputs are not this build's.
var ErrModelShape = errors.New("risk: the stored model's features differ from this version's")

// LoadModel builds a Learned from its document (as stored).
func LoadModel(doc []byte) (*Learned, error) {
	var d ModelDoc
	if err := json.Unmarshal(doc, &d); err != nil {
		return nil, fmt.Errorf("risk: model document: %w", err)
	}
	return fromDoc(d)
}

func fromDoc(d ModelDoc) (*Learned, error) {
	if d.Kind != ModelKind || len(d.Features) != len(modelFeatures) {
		return nil, ErrModelShape
	}
	m := &Learned{version: d.Version, bias: d.Bias, weights: make([]float64, len(d.Features)), doc: d}
	for i, f := range d.Features {
		if f.Name != modelFeatures[i].Name || math.IsNaN(f.Weight) || math.IsInf(f.Weight, 0) {
			return nil, ErrModelShape
		}
		m.weights[i] = f.Weight
	}
	if math.IsNaN(d.Bias) || math.IsInf(d.Bias, 0) {
		return nil, ErrModelShape
	}
	return m, nil
}

// UserAgentFamily is a user agent without its version numbers: a browser
// update keeps the family, another browser or system changes it.
func UserAgentFamily(ua string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(ua) {
		if unicode.IsDigit(r) || r == '.' || r == '_' {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// profileAttempt adds to f what depends on the attempt as well as the
// history: the user-agent families.
func profileAttempt(f *Features, a Attempt, history []SignIn) {
	fam := UserAgentFamily(a.UserAgent)
	seen := map[string]bool{}
	for _, s := range history {
		h := UserAgentFamily(s.UserAgent)
		seen[h] = true
		if h == fam {
			f.UserAgentSeen = true
		}
	}
	f.UserAgents = len(seen)
}
