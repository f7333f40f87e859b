package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"

	"github.com/gatehouse-id/gatehouse/internal/risk"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore"
)

// The replay: the world's attempts, in time order, through the risk
// engine itself (Engine.Gather over a real SQLite store and real GeoIP
// databases, then risk.Score with the real signals), the wrong passwords
// through Engine.NoteFailure and Engine.Stuffed as the login does. The
// owners' completed sign-ins join their history (Engine.Completed); the
// attackers' never do, so the rules and the model are compared on the
// same inputs. The first half of the replay trains the model on labels
// drawn the way the system learns them (Outcome); the second half is held
// out and scored by both.

// scored is one held-out attempt that reached the risk step.
type scored struct {
	class        Class
	rules, model float64 // the probability each gave (0..1)
}

type report struct {
	cfg       config
	users     int
	history   int
	trainN    int // assessments trained on
	trainPos  int
	held      []scored
	challenge map[Class][2]int // wrong-password attempts: challenged, all
	ruleLat   []time.Duration
	modelLat  []time.Duration
	gatherLat []time.Duration
	model     *risk.Learned
	elapsed   time.Duration
}

// geoDB writes a City and an ASN database placing every (city, provider)
// /16 of the world.
func geoDB(dir string) (string, string, error) {
	cw, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24})
	if err != nil {
		return "", "", err
	}
	aw, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-ASN", RecordSize: 24})
	if err != nil {
		return "", "", err
	}
	for i, c := range cities {
		for isp := range numISP {
			_, n, err := net.ParseCIDR(fmt.Sprintf("%d.%d.0.0/16", 20+i, isp))
			if err != nil {
				return "", "", err
			}
			if err := cw.Insert(n, mmdbtype.Map{
				"country":  mmdbtype.Map{"iso_code": mmdbtype.String(c.Country)},
				"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(c.Name)}},
				"location": mmdbtype.Map{"latitude": mmdbtype.Float64(c.Lat), "longitude": mmdbtype.Float64(c.Lon)},
			}); err != nil {
				return "", "", err
			}
			if err := aw.Insert(n, mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(asnOf(i, isp))}); err != nil {
				return "", "", err
			}
		}
	}
	city, asn := filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	for path, t := range map[string]*mmdbwriter.Tree{city: cw, asn: aw} {
		f, err := os.Create(path)
		if err != nil {
			return "", "", err
		}
		if _, err := t.WriteTo(f); err != nil {
			f.Close()
			return "", "", err
		}
		if err := f.Close(); err != nil {
			return "", "", err
		}
	}
	return city, asn, nil
}

type replayer struct {
	cfg    config
	w      *world
	db     *sqlstore.DB
	e      *risk.Engine
	now    time.Time
	tenant store.TenantID
}

// run builds the world in dir and replays it.
func run(ctx context.Context, cfg config, dir string) (*report, error) {
	began := time.Now()
	w := newWorld(cfg)
	cityPath, asnPath, err := geoDB(dir)
	if err != nil {
		return nil, err
	}
	geo, err := risk.OpenGeoIP(cityPath, asnPath)
	if err != nil {
		return nil, err
	}
	defer geo.Close()
	db, err := sqlstore.Open(ctx, sqlstore.DriverSQLite, filepath.Join(dir, "risk.db"), sqlstore.Options{})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	r := &replayer{cfg: cfg, w: w, db: db, tenant: "00000000-0000-7000-8000-00000000be01"}
	r.e = &risk.Engine{Store: db, Geo: geo, Key: []byte("bench-risk-password-key-32-bytes"), Now: func() time.Time { return r.now }}
	if err := r.population(ctx); err != nil {
		return nil, err
	}
	rep := &report{cfg: cfg, users: len(w.users), history: len(w.history), challenge: map[Class][2]int{}}
	if err := r.replay(ctx, rep); err != nil {
		return nil, err
	}
	rep.elapsed = time.Since(began)
	return rep, nil
}

// population stores the tenant, the users and their sign-ins before the
// replay (straight into the history, in batches).
func (r *replayer) population(ctx context.Context) error {
	if err := r.db.Tenants().CreateTenant(ctx, &store.Tenant{ID: r.tenant, Slug: "bench-risk", Name: "Bench"}); err != nil {
		return err
	}
	for from := 0; from < len(r.w.users); from += 2000 {
		err := r.db.InTx(ctx, func(tx store.Repos) error {
			for _, u := range r.w.users[from:min(from+2000, len(r.w.users))] {
				u.id = fmt.Sprintf("00000000-0000-7000-8000-%012d", u.idx)
				email := fmt.Sprintf("user%d@example.com", u.idx)
				if err := tx.Users().CreateUser(ctx, &store.User{ID: u.id, Tenant: r.tenant, Email: email, EmailNorm: email,
					Status: store.UserActive}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	h := r.w.history
	for from := 0; from < len(h); from += 5000 {
		err := r.db.InTx(ctx, func(tx store.Repos) error {
			for i := range h[from:min(from+5000, len(h))] {
				a := &h[from+i]
				p := r.e.Geo.Lookup(mustAddr(a.IP))
				if err := tx.SignIns().AddSignIn(ctx, &store.SignInRecord{Tenant: r.tenant, ID: fmt.Sprintf("h-%d", from+i),
					UserID: a.User.id, At: a.At, Network: risk.Network(a.IP), Country: p.Country, City: p.City, Lat: p.Lat,
					Lon: p.Lon, HasGeo: p.HasCoords, ASN: p.ASN, DeviceID: r.deviceAfter(a), UserAgent: a.UA}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// deviceBefore is the device id the attempt's browser presents: the
// device's once a sign-in completed on it and the cookie survived.
func deviceBefore(a *attempt) string {
	if a.Device == nil || !a.Device.known || a.NoCookie {
		return ""
	}
	return a.Device.id
}

// deviceAfter is the device id a completed sign-in leaves (a new cookie
// for a new device or a lost cookie).
func (r *replayer) deviceAfter(a *attempt) string {
	if id := deviceBefore(a); id != "" {
		return id
	}
	a.Device.id, a.Device.known = r.w.deviceID(), true
	return a.Device.id
}

func (r *replayer) replay(ctx context.Context, rep *report) error {
	th := risk.DefaultThresholds()
	signals, rules := risk.DefaultSignals(), risk.Rules{Signals: risk.DefaultSignals()}
	var samples []risk.Sample
	trained := false
	for i := range r.w.attempts {
		a := &r.w.attempts[i]
		r.now = a.At
		if !a.Train && !trained {
			m, err := risk.Train(samples, risk.TrainOptions{Version: "learned-1", Now: r.now})
			if err != nil {
				return err
			}
			rep.model, trained = m, true
			rep.trainN = len(samples)
			for _, s := range samples {
				if s.Label > 0.5 {
					rep.trainPos++
				}
			}
		}
		userID, acct := "", fmt.Sprintf("nobody-%d@example.com", i)
		if a.User != nil {
			userID, acct = a.User.id, fmt.Sprintf("user%d@example.com", a.User.idx)
		}
		if a.typoFirst {
			if err := r.e.NoteFailure(ctx, r.tenant, acct, userID, a.IP, r.e.PasswordKey(a.Password+"x")); err != nil {
				return err
			}
		}
		if !a.Right || a.User == nil {
			stuffed, err := r.e.Stuffed(ctx, r.tenant, a.IP)
			if err != nil {
				return err
			}
			c := rep.challenge[a.Class]
			c[0], c[1] = c[0]+b2i(stuffed), c[1]+1
			rep.challenge[a.Class] = c
			if err := r.e.NoteFailure(ctx, r.tenant, acct, userID, a.IP, r.e.PasswordKey(a.Password)); err != nil {
				return err
			}
			continue
		}
		att := risk.Attempt{Kind: risk.KindLogin, UserID: userID, IP: a.IP, UserAgent: a.UA, DeviceID: deviceBefore(a),
			Elapsed: a.Elapsed, PasswordKey: r.e.PasswordKey(a.Password), Breached: a.Breached}
		t0 := time.Now()
		in, err := r.e.Gather(ctx, r.tenant, att, th)
		if err != nil {
			return err
		}
		t1 := time.Now()
		as := risk.Score(in, signals, rules, th)
		t2 := time.Now()
		if a.Train {
			samples = append(samples, sample(r.w, a, as, in.Features))
		} else {
			t3 := time.Now()
			ms := risk.Score(in, signals, rep.model, th)
			rep.modelLat = append(rep.modelLat, time.Since(t3))
			rep.ruleLat = append(rep.ruleLat, t2.Sub(t1))
			rep.gatherLat = append(rep.gatherLat, t1.Sub(t0))
			rep.held = append(rep.held, scored{class: a.Class, rules: rules.Probability(as.Vector, in.Features),
				model: rep.model.Probability(ms.Vector, in.Features)})
		}
		if a.Class == Legit {
			if err := r.e.Completed(ctx, r.tenant, userID, a.IP, a.UA, r.deviceAfter(a)); err != nil {
				return err
			}
		}
	}
	if !trained {
		return fmt.Errorf("bench: the replay ended before its held-out half")
	}
	return nil
}

// sample labels a training assessment the way the system learns its
// labels: an owner completes (a step-up with the second factor; now and
// then one gives up); an attacker stepped up never brings the second
// factor; an attacker let in is reported by the owner ("this was not
// me") most of the time, and otherwise passes for the owner.
func sample(w *world, a *attempt, as risk.Assessment, f risk.Features) risk.Sample {
	o := risk.OutcomeCompleted
	stepped := as.Decision != risk.Allow
	switch {
	case a.Class == Legit && stepped && w.rng.Float64() < 0.02:
		o = risk.OutcomeAbandoned
	case a.Class != Legit && stepped:
		o = risk.OutcomeAbandoned
	case a.Class != Legit && w.rng.Float64() < 0.7:
		o = risk.OutcomeReported
	}
	label, weight, _ := o.Label()
	return risk.Sample{Vector: as.Vector, Features: f, Label: label, Weight: weight}
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

func p99(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)*99/100]
}
