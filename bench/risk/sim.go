package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// The simulated world: cities with providers, a population of users with
// habits, and the attempts (the owners' and the attackers') over a span of
// days. Everything is drawn from one seeded source, so a seed is a world.

type city struct {
	Country  string
	Name     string
	Lat, Lon float64
	TZ       float64 // hours from UTC
	Pop      float64 // relative share of the users living there
}

var cities = []city{
	{"DE", "Berlin", 52.52, 13.40, 1, 8}, {"DE", "Munich", 48.14, 11.58, 1, 5}, {"FR", "Paris", 48.86, 2.35, 1, 8},
	{"ES", "Madrid", 40.42, -3.70, 1, 6}, {"GB", "London", 51.51, -0.13, 0, 9}, {"US", "New York", 40.71, -74.01, -5, 10},
	{"US", "Chicago", 41.88, -87.63, -6, 6}, {"US", "San Francisco", 37.77, -122.42, -8, 6}, {"BR", "Sao Paulo", -23.55, -46.63, -3, 6},
	{"IN", "Mumbai", 19.08, 72.88, 5.5, 6}, {"JP", "Tokyo", 35.68, 139.69, 9, 6}, {"AU", "Sydney", -33.87, 151.21, 10, 4},
	{"NG", "Lagos", 6.52, 3.38, 1, 2}, {"RU", "Moscow", 55.76, 37.62, 3, 2}, {"VN", "Hanoi", 21.03, 105.85, 7, 2},
	{"NL", "Amsterdam", 52.37, 4.90, 1, 3},
}

// Providers per city: the second octet of the city's addresses. Each
// (city, provider) is a /16 of its own autonomous system.
const (
	ispFixedA = iota
	ispFixedB
	ispMobile
	ispHosting
	numISP
)

func asnOf(c, isp int) uint32 { return uint32(64600 + c*numISP + isp) }

// addr is an address of city c, provider isp, /24 number net, host h.
func addr(c, isp, net, h int) string { return fmt.Sprintf("%d.%d.%d.%d", 20+c, isp, net, 1+h%250) }

// The user agents people use; the bots' own marks are separate.
var browserUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
	"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 SamsungBrowser/26.0",
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
}

var botUAs = []string{"python-requests/2.32.3", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36",
	"Go-http-client/1.1", "curl/8.5.0"}

type device struct {
	id    string // the device cookie's id once a sign-in completed on it ("" before)
	ua    string
	known bool
}

type user struct {
	idx      int
	id       string
	home     int // city
	isp      int
	homeNet  int
	work     int // /24 of the work network, -1 none
	workISP  int
	mobile   bool
	devices  []*device
	center   float64 // local hour of habit
	spread   float64
	interval float64 // mean days between sign-ins
	traveler bool
	reused   bool // the password is in a stuffing combo list
	weak     int  // index of a common password it uses, -1 none
}

// Class names an attempt's kind in the report.
type Class string

// The classes of attempts.
const (
	Legit      Class = "legitimate"
	ATOCountry Class = "takeover_new_country"
	Travel     Class = "impossible_travel"
	OddDevice  Class = "new_device_odd_hour"
	Stuffing   Class = "credential_stuffing"
	Spraying   Class = "password_spraying"
	numAttacks       = 5
	minuteDur        = time.Minute
)

// attempt is one sign-in attempt of the replay.
type attempt struct {
	At        time.Time
	User      *user // nil: an account that does not exist
	Class     Class
	IP        string
	UA        string
	Device    *device // the owner's device it came from (nil for attackers)
	NoCookie  bool    // the owner's browser lost the device cookie
	Elapsed   time.Duration
	Right     bool // the password is right
	Password  string
	Breached  bool
	Train     bool // in the training part
	typoFirst bool // an owner who mistypes once first
}

type world struct {
	rng      *rand.Rand
	users    []*user
	start    time.Time
	history  []attempt // the owners' sign-ins before the replay (straight into the history)
	attempts []attempt // the replay, in time order
	nextDev  int
}

// config sizes the world.
type config struct {
	Users      int
	WarmupDays int // days of history before the replay
	Days       int // days replayed: the first half trains, the second is held out
	Seed       uint64
	// Attack volumes per half, per 10,000 users.
	ATO, Travels, OddDevices, Bots, SprayAccounts int
}

var commonPasswords = []string{"Summer2026!", "Password1", "Welcome123", "Qwerty2026", "Winter2026!"}

func (w *world) pickCity() int {
	total := 0.0
	for _, c := range cities {
		total += c.Pop
	}
	x := w.rng.Float64() * total
	for i, c := range cities {
		if x -= c.Pop; x < 0 {
			return i
		}
	}
	return len(cities) - 1
}

func (w *world) newDevice(ua string) *device {
	if ua == "" {
		ua = browserUAs[w.rng.IntN(len(browserUAs))]
	}
	return &device{ua: ua}
}

func (w *world) deviceID() string { w.nextDev++; return fmt.Sprintf("dev-%d", w.nextDev) }

func newWorld(cfg config) *world {
	w := &world{rng: rand.New(rand.NewPCG(cfg.Seed, cfg.Seed^0x9e3779b97f4a7c15)),
		start: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}
	for i := range cfg.Users {
		u := &user{idx: i, home: w.pickCity(), isp: w.rng.IntN(2), homeNet: w.rng.IntN(256), work: -1,
			mobile: w.rng.Float64() < 0.3, center: 7 + w.rng.Float64()*15, spread: 1 + w.rng.Float64()*2.5,
			interval: 0.5 + w.rng.ExpFloat64()*2, traveler: w.rng.Float64() < 0.15, reused: w.rng.Float64() < 0.03, weak: -1}
		if w.rng.Float64() < 0.4 {
			u.work, u.workISP = w.rng.IntN(256), w.rng.IntN(2)
		}
		if w.rng.Float64() < 0.03 {
			u.weak = w.rng.IntN(len(commonPasswords))
		}
		for range 1 + w.rng.IntN(3) {
			u.devices = append(u.devices, w.newDevice(""))
		}
		w.users = append(w.users, u)
	}
	w.owners(cfg)
	trainEnd := w.start.Add(time.Duration(cfg.WarmupDays*24+cfg.Days*12) * time.Hour)
	scale := float64(cfg.Users) / 10000
	for _, train := range []bool{true, false} {
		from := w.start.Add(time.Duration(cfg.WarmupDays*24) * time.Hour)
		to := trainEnd
		if !train {
			from, to = trainEnd, trainEnd.Add(time.Duration(cfg.Days*12)*time.Hour)
		}
		w.attacks(cfg, scale, from, to)
	}
	sort.SliceStable(w.attempts, func(a, b int) bool { return w.attempts[a].At.Before(w.attempts[b].At) })
	for i := range w.attempts {
		w.attempts[i].Train = w.attempts[i].At.Before(trainEnd)
	}
	return w
}

func (w *world) password(u *user) string {
	if u.weak >= 0 {
		return commonPasswords[u.weak]
	}
	return fmt.Sprintf("pw-%d-%d", u.idx, u.idx*7919%100003)
}

// owners draws every user's own sign-ins over the warm-up and the replay.
func (w *world) owners(cfg config) {
	replayFrom := w.start.Add(time.Duration(cfg.WarmupDays*24) * time.Hour)
	end := replayFrom.Add(time.Duration(cfg.Days*24) * time.Hour)
	for _, u := range w.users {
		var last time.Time
		lastCity := u.home
		tripCity, tripNet, tripISP := -1, 0, 0
		var tripEnd time.Time
		day := w.rng.Float64() * u.interval
		for {
			day += w.rng.ExpFloat64() * u.interval
			hour := u.center + w.rng.NormFloat64()*u.spread
			if w.rng.Float64() < 0.08 {
				hour = w.rng.Float64() * 24
			}
			c := u.home
			if tripCity >= 0 {
				c = tripCity
			}
			at := w.start.Add(time.Duration((math.Floor(day)*24 + hour - cities[c].TZ) * float64(time.Hour)))
			if !at.After(last) {
				continue
			}
			if at.After(end) {
				break
			}
			if tripCity >= 0 && at.After(tripEnd) {
				tripCity, c = -1, u.home
			}
			if tripCity < 0 && u.traveler && w.rng.Float64() < 0.06 {
				d := w.pickCity()
				if d != u.home {
					tripCity, tripNet, tripISP, c = d, w.rng.IntN(256), w.rng.IntN(numISP), d
					tripEnd = at.Add(time.Duration(2+w.rng.IntN(7)) * 24 * time.Hour)
				}
			}
			// Nobody flies faster than an airliner: a sign-in from
			// elsewhere waits for the flight.
			if c != lastCity && !last.IsZero() {
				km := distance(lastCity, c)
				if min := last.Add(time.Duration(km/800*float64(time.Hour)) + 2*time.Hour); at.Before(min) {
					at = min
				}
			}
			a := attempt{At: at, User: u, Class: Legit, Right: true, Password: w.password(u), Breached: u.reused || u.weak >= 0,
				Elapsed: time.Duration(2000+w.rng.IntN(15000)) * time.Millisecond}
			if w.rng.Float64() < 0.02 { // a password manager's autofill submits at once
				a.Elapsed = time.Duration(300+w.rng.IntN(400)) * time.Millisecond
			}
			a.typoFirst = w.rng.Float64() < 0.03
			// The device: the usual ones, now and then a new one or a
			// lost cookie.
			dev := u.devices[0]
			if len(u.devices) > 1 && w.rng.Float64() < 0.4 {
				dev = u.devices[1+w.rng.IntN(len(u.devices)-1)]
			}
			if w.rng.Float64() < 0.005 {
				dev = w.newDevice("")
				u.devices = append(u.devices, dev)
			}
			a.Device, a.UA, a.NoCookie = dev, dev.ua, w.rng.Float64() < 0.03
			// The network.
			local := (at.Hour() + int(cities[c].TZ) + 24) % 24
			switch {
			case tripCity >= 0:
				a.IP = addr(c, tripISP, tripNet, w.rng.IntN(250))
			case u.mobile && w.rng.Float64() < 0.25:
				a.IP = addr(c, ispMobile, w.rng.IntN(256), w.rng.IntN(250))
			case u.work >= 0 && at.Weekday() != time.Saturday && at.Weekday() != time.Sunday && local >= 9 && local < 17:
				a.IP = addr(c, u.workISP, u.work, 7)
			default:
				if w.rng.Float64() < 0.01 { // the provider moved the line to another network
					u.homeNet = w.rng.IntN(256)
				}
				a.IP = addr(c, u.isp, u.homeNet, 3)
			}
			last, lastCity = at, c
			if at.Before(replayFrom) {
				w.history = append(w.history, a)
			} else {
				w.attempts = append(w.attempts, a)
			}
		}
	}
}

func distance(a, b int) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	la1, la2 := cities[a].Lat*rad, cities[b].Lat*rad
	dlat, dlon := la2-la1, (cities[b].Lon-cities[a].Lon)*rad
	h := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(h)))
}

func (w *world) between(from, to time.Time) time.Time {
	return from.Add(time.Duration(w.rng.Int64N(int64(to.Sub(from)))))
}

func (w *world) victim() *user { return w.users[w.rng.IntN(len(w.users))] }

func (w *world) humanAttack(class Class, u *user, at time.Time, c, isp int) attempt {
	ua := browserUAs[w.rng.IntN(len(browserUAs))]
	if w.rng.Float64() < 0.3 { // a careful attacker copies the victim's browser
		ua = u.devices[0].ua
	}
	return attempt{At: at, User: u, Class: class, IP: addr(c, isp, w.rng.IntN(256), w.rng.IntN(250)), UA: ua, Right: true,
		Password: w.password(u), Breached: u.reused || u.weak >= 0, Elapsed: time.Duration(3000+w.rng.IntN(10000)) * time.Millisecond}
}

// attacks draws one half's attacks in [from, to).
func (w *world) attacks(cfg config, scale float64, from, to time.Time) {
	n := func(x int) int { return int(math.Max(1, math.Round(float64(x)*scale))) }
	// Account takeover with the right password from a country the victim
	// never signed in from, at the attacker's hours.
	for range n(cfg.ATO) {
		u := w.victim()
		c := w.pickCity()
		for cities[c].Country == cities[u.home].Country {
			c = w.pickCity()
		}
		w.attempts = append(w.attempts, w.humanAttack(ATOCountry, u, w.between(from, to), c, w.rng.IntN(numISP)))
	}
	// Impossible travel: the password used far away shortly after the
	// owner's own sign-in.
	var owners []attempt
	for _, a := range w.attempts {
		if a.Class == Legit && !a.At.Before(from) && a.At.Before(to) {
			owners = append(owners, a)
		}
	}
	for range n(cfg.Travels) {
		if len(owners) == 0 {
			break
		}
		o := owners[w.rng.IntN(len(owners))]
		c := w.pickCity()
		for distance(o.User.home, c) < 3000 {
			c = w.pickCity()
		}
		at := o.At.Add(time.Duration(10+w.rng.IntN(240)) * time.Minute)
		w.attempts = append(w.attempts, w.humanAttack(Travel, o.User, at, c, w.rng.IntN(numISP)))
	}
	// A session from a new device at an hour the victim never signs in,
	// from the victim's own city (a local attacker, or a proxy there).
	for range n(cfg.OddDevices) {
		u := w.victim()
		at := w.between(from, to)
		day := at.Truncate(24 * time.Hour)
		hour := math.Mod(u.center+12+w.rng.NormFloat64()*2+48, 24)
		at = day.Add(time.Duration((hour - cities[u.home].TZ) * float64(time.Hour)))
		if at.Before(from) {
			at = at.Add(24 * time.Hour)
		}
		isp := w.rng.IntN(numISP)
		w.attempts = append(w.attempts, w.humanAttack(OddDevice, u, at, u.home, isp))
	}
	// Credential stuffing from a botnet of residential addresses: each
	// bot works through its share of a combo list, a few seconds apart.
	campaign := w.between(from, to.Add(-3*time.Hour))
	for b := range n(cfg.Bots) {
		c, isp, net := w.pickCity(), w.rng.IntN(3), w.rng.IntN(256)
		ua := browserUAs[w.rng.IntN(len(browserUAs))]
		if w.rng.Float64() < 0.4 {
			ua = botUAs[w.rng.IntN(len(botUAs))]
		}
		at := campaign.Add(time.Duration(w.rng.IntN(7200)) * time.Second)
		ip := addr(c, isp, net, b)
		for range 25 {
			at = at.Add(time.Duration(5+w.rng.IntN(40)) * time.Second)
			a := attempt{At: at, Class: Stuffing, IP: ip, UA: ua, Breached: true, Elapsed: time.Duration(100+w.rng.IntN(500)) * time.Millisecond}
			if w.rng.Float64() < 0.3 { // a name from the list that is no account here
				a.Password = fmt.Sprintf("leak-%d", w.rng.IntN(1<<30))
			} else {
				a.User = w.victim()
				a.Right = a.User.reused
				a.Password = fmt.Sprintf("leak-%d", w.rng.IntN(1<<30))
				if a.Right {
					a.Password = w.password(a.User)
				}
			}
			w.attempts = append(w.attempts, a)
		}
	}
	// Password spraying: a few common passwords, each tried once on many
	// accounts from a handful of hosting networks, slowly.
	spray := w.between(from, to.Add(-12*time.Hour))
	nets := make([]string, 10)
	for i := range nets {
		nets[i] = addr(w.pickCity(), ispHosting, w.rng.IntN(256), i)
	}
	targets := make([]*user, n(cfg.SprayAccounts))
	for i := range targets {
		targets[i] = w.victim()
	}
	at := spray
	for _, pw := range commonPasswords {
		for _, u := range targets {
			at = at.Add(time.Duration(5+w.rng.IntN(10)) * time.Second)
			w.attempts = append(w.attempts, attempt{At: at, User: u, Class: Spraying, IP: nets[w.rng.IntN(len(nets))],
				UA: browserUAs[w.rng.IntN(len(browserUAs))], Right: u.weak >= 0 && commonPasswords[u.weak] == pw, Password: pw,
				Breached: true, Elapsed: time.Duration(1000+w.rng.IntN(3000)) * time.Millisecond})
		}
	}
}
