package risk

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"
)

// Outcome is what became of an assessed login, as far as the system
// knows: the labels the learned model is trained on.
type Outcome string

// The outcomes. An assessment without one yet is not trained on.
const (
	// OutcomeCompleted: the sign-in completed (allowed, or stepped up and
	// the second factor given). The owner, unless reported later.
	OutcomeCompleted Outcome = "completed"
	// OutcomeReported: the user followed the "this was not me" link of a
	// sign-in notice (user.secure): every assessment of the user in the
	// days before it that completed is relabelled not the owner.
	OutcomeReported Outcome = "reported"
	// OutcomeAbandoned: stepped up, and no second factor came within the
	// pending ticket's lifetime. Mostly attackers holding only the
	// password, sometimes an owner who gave up: half weight.
	OutcomeAbandoned Outcome = "abandoned"
	// OutcomeBlocked: the policy refused it. The engine's own verdict,
	// so half weight, lest the model only learn the rules back.
	OutcomeBlocked Outcome = "blocked"
)

// Label answers the training label (1: not the owner) and weight of o;
// ok is false for an outcome that is no label.
func (o Outcome) Label() (label, weight float64, ok bool) {
	switch o {
	case OutcomeCompleted:
		return 0, 1, true
	case OutcomeReported:
		return 1, 1, true
	case OutcomeAbandoned, OutcomeBlocked:
		return 1, 0.5, true
	}
	return 0, 0, false
}

// Sample is one labelled assessment.
type Sample struct {
	Vector   Vector
	Features Features
	// Label is 1 for an attempt that was not the owner's, else 0.
	Label float64
	// Weight scales the sample's say (0 counts as 1).
	Weight float64
}

// TrainOptions tune Train. Zero fields take the defaults.
type TrainOptions struct {
	// Version names the model ("learned-1").
	Version string
	Now     time.Time
	// StepUp is the score threshold (0..100) the model's operating point
	// is placed at (default 50, the default step_up).
	StepUp int
	// TargetFPR is the share of the training set's owners' sign-ins the
	// model may score at or above StepUp (default 0.005).
	TargetFPR float64
	// L2 pulls the weights toward the prior (the rules): how much the
	// data must say before the model departs from them (default 1).
	L2 float64
}

// Training minimums: below them Train refuses, and the rules keep
// scoring (a model learned from a handful of reports is noise).
const (
	MinPositives = 20
	MinNegatives = 200
)

// ErrTooFewSamples: not enough labelled assessments of either kind.
var ErrTooFewSamples = errors.New("risk: too few labelled assessments to train a model")

// TrainingReport says on what and how well a model was trained.
type TrainingReport struct {
	Samples   int `json:"samples"`
	Positives int `json:"positives"`
	// AUC and RulesAUC are the ROC-AUC of the model and of the rules on
	// the training set.
	AUC      float64 `json:"auc"`
	RulesAUC float64 `json:"rules_auc"`
	// StepUp and TargetFPR are the operating point; FPR and Recall what
	// the model achieves there on the training set.
	StepUp    int     `json:"step_up"`
	TargetFPR float64 `json:"target_fpr"`
	FPR       float64 `json:"fpr"`
	Recall    float64 `json:"recall"`
	// Labels describes where labels come from.
	Labels string `json:"labels"`
}

// LabelSources is the TrainingReport.Labels text.
const LabelSources = "completed sign-ins (owner, 0); \"this was not me\" reports (not the owner, 1); step-ups without a second factor and blocked attempts (1, half weight)"

// priorRules and priorBias make the prior model the rules: sigmoid(10 ·
// (rules_score - 0.5)) is 0.5 exactly at the default step-up score.
const (
	priorRules = 10.0
	priorBias  = -5.0
)

// Train fits the learned model to samples: a weighted logistic regression
// (classes balanced), with an L2 pull toward the rules (the prior), by
// Newton's method; then it moves the bias so that at most TargetFPR of the
// owners' sign-ins score at or above StepUp. Its work is bounded: a dozen
// passes over the samples.
func Train(samples []Sample, o TrainOptions) (*Learned, error) {
	if o.StepUp <= 0 || o.StepUp > 100 {
		o.StepUp = DefaultThresholds().StepUp
	}
	if o.TargetFPR <= 0 {
		o.TargetFPR = 0.005
	}
	if o.L2 <= 0 {
		o.L2 = 1
	}
	if o.Version == "" {
		o.Version = "learned-1"
	}
	d := len(modelFeatures) + 1 // the bias is the last input
	var pos, neg float64
	npos := 0
	for _, s := range samples {
		if s.Label > 0.5 {
			pos += weightOf(s)
			npos++
		} else {
			neg += weightOf(s)
		}
	}
	if npos < MinPositives || len(samples)-npos < MinNegatives {
		return nil, fmt.Errorf("%w: %d not the owner, %d the owner", ErrTooFewSamples, npos, len(samples)-npos)
	}
	xs := make([]float64, len(samples)*d)
	for i, s := range samples {
		x := xs[i*d : (i+1)*d]
		Featurize(x[:d-1], s.Vector, s.Features)
		x[d-1] = 1
	}
	prior := make([]float64, d)
	prior[slices.IndexFunc(modelFeatures, func(f ModelFeature) bool { return f.Name == "rules_score" })] = priorRules
	prior[d-1] = priorBias
	w := slices.Clone(prior)
	// Balanced classes: each class weighs half the total.
	total := pos + neg
	cw := [2]float64{total / (2 * neg), total / (2 * pos)}
	// objective is the weighted log-loss plus the pull toward the prior.
	objective := func(w []float64) float64 {
		sum := 0.0
		for i := range samples {
			z := dot(w, xs[i*d:(i+1)*d])
			c := cw[int(samples[i].Label+0.5)] * weightOf(samples[i])
			// log(1+e^z) - y·z, computed without overflow.
			sum += c * (math.Max(z, 0) + math.Log1p(math.Exp(-math.Abs(z))) - samples[i].Label*z)
		}
		for j := range w {
			sum += o.L2 / 2 * (w[j] - prior[j]) * (w[j] - prior[j])
		}
		return sum
	}
	grad, hess := make([]float64, d), make([]float64, d*d)
	for range 12 {
		clear(grad)
		clear(hess)
		for i := range samples {
			x := xs[i*d : (i+1)*d]
			p := sigmoid(dot(w, x))
			c := cw[int(samples[i].Label+0.5)] * weightOf(samples[i])
			g, h := c*(p-samples[i].Label), c*p*(1-p)
			for j := range d {
				grad[j] += g * x[j]
				if x[j] == 0 {
					continue
				}
				hx := h * x[j]
				row := hess[j*d:]
				for k := j; k < d; k++ {
					row[k] += hx * x[k]
				}
			}
		}
		for j := range d {
			for k := 0; k < j; k++ {
				hess[j*d+k] = hess[k*d+j]
			}
			grad[j] += o.L2 * (w[j] - prior[j])
			hess[j*d+j] += o.L2
		}
		step, err := solveSPD(hess, grad, d)
		if err != nil {
			return nil, err
		}
		// Damped Newton: halve the step until the loss falls (a plain
		// Newton step overshoots on nearly separable data).
		loss := objective(w)
		next := make([]float64, d)
		t := 1.0
		for range 30 {
			for j := range d {
				next[j] = w[j] - t*step[j]
			}
			if objective(next) <= loss {
				break
			}
			t /= 2
		}
		maxStep := 0.0
		for j := range d {
			maxStep = math.Max(maxStep, math.Abs(next[j]-w[j]))
		}
		copy(w, next)
		if maxStep < 1e-6 {
			break
		}
	}
	// The operating point: the bias moves so that the owners' sign-ins
	// above the step-up score are at most TargetFPR of them.
	var negZ []float64
	scores, labels := make([]float64, len(samples)), make([]bool, len(samples))
	rules := make([]float64, len(samples))
	for i, s := range samples {
		z := dot(w, xs[i*d:(i+1)*d])
		scores[i], labels[i] = z, s.Label > 0.5
		rules[i] = rulesProbability(&samples[i].Vector)
		if !labels[i] {
			negZ = append(negZ, z)
		}
	}
	sort.Sort(sort.Reverse(sort.Float64Slice(negZ)))
	k := int(o.TargetFPR * float64(len(negZ)))
	cut := math.Nextafter(negZ[k], math.Inf(1))
	w[d-1] += logit(float64(o.StepUp)/100) - cut
	rep := TrainingReport{Samples: len(samples), Positives: npos, AUC: AUC(scores, labels), RulesAUC: AUC(rules, labels),
		StepUp: o.StepUp, TargetFPR: o.TargetFPR, Labels: LabelSources}
	var fp, tp int
	for i := range samples {
		if scores[i] >= cut { // after the move: at or above the step-up score

			if labels[i] {
				tp++
			} else {
				fp++
			}
		}
	}
	rep.FPR, rep.Recall = float64(fp)/float64(len(negZ)), float64(tp)/float64(npos)
	doc := ModelDoc{Version: o.Version, Kind: ModelKind, TrainedAt: o.Now.UTC(), Bias: w[d-1], Training: rep}
	for i, f := range modelFeatures {
		doc.Features = append(doc.Features, DocFeature{Name: f.Name, Weight: w[i], Explain: f.Explain})
	}
	return fromDoc(doc)
}

func weightOf(s Sample) float64 {
	if s.Weight <= 0 {
		return 1
	}
	return s.Weight
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

func logit(p float64) float64 { return math.Log(p / (1 - p)) }

func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// solveSPD solves A x = b for a symmetric positive-definite d×d A by
// Cholesky decomposition.
func solveSPD(a, b []float64, d int) ([]float64, error) {
	l := make([]float64, d*d)
	for i := range d {
		for j := 0; j <= i; j++ {
			s := a[i*d+j]
			for k := range j {
				s -= l[i*d+k] * l[j*d+k]
			}
			if i == j {
				if s <= 0 {
					return nil, errors.New("risk: training diverged (matrix not positive definite)")
				}
				l[i*d+i] = math.Sqrt(s)
			} else {
				l[i*d+j] = s / l[j*d+j]
			}
		}
	}
	y := make([]float64, d)
	for i := range d {
		s := b[i]
		for k := range i {
			s -= l[i*d+k] * y[k]
		}
		y[i] = s / l[i*d+i]
	}
	x := make([]float64, d)
	for i := d - 1; i >= 0; i-- {
		s := y[i]
		for k := i + 1; k < d; k++ {
			s -= l[k*d+i] * x[k]
		}
		x[i] = s / l[i*d+i]
	}
	return x, nil
}

// AUC is the area under the ROC curve of scores for labels (true: not
// the owner): the chance that a random positive scores above a random
// negative, ties counting half. 0.5 without both kinds.
func AUC(scores []float64, labels []bool) float64 {
	idx := make([]int, len(scores))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return scores[idx[a]] < scores[idx[b]] })
	var npos, nneg, rankSum float64
	for i := 0; i < len(idx); {
		j := i
		for j < len(idx) && scores[idx[j]] == scores[idx[i]] {
			j++
		}
		avg := float64(i+j+1) / 2 // ranks are 1-based
		for k := i; k < j; k++ {
			if labels[idx[k]] {
				rankSum += avg
				npos++
			} else {
				nneg++
			}
		}
		i = j
	}
	if npos == 0 || nneg == 0 {
		return 0.5
	}
	return (rankSum - npos*(npos+1)/2) / (npos * nneg)
}
