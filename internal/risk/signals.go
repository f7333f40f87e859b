package risk

import (
	"math"
	"strings"
	"time"
)

// The signals. Each reads only its Input, so scoring is pure and cheap.
// Familiarity signals (device, network, ASN, country, travel) compare with
// the user's completed sign-ins only and stay quiet for a user without
// any: there is nothing to compare with.

// DefaultSignals are the signals of the rules, in Names order.
func DefaultSignals() []Signal {
	return []Signal{newDevice{}, newNetwork{}, newASN{}, newCountry{}, impossibleTravel{},
		credentialStuffing{}, passwordSpraying{}, velocity{}, breachedPassword{}, bot{}}
}

// MaxSpeedKMH is the speed above which travel between two sign-ins is
// impossible (a little faster than an airliner).
const MaxSpeedKMH = 1000

type newDevice struct{}

func (newDevice) Name() string    { return NewDevice }
func (newDevice) Weight() float64 { return 15 }
func (newDevice) Explain() string {
	return "the browser's device cookie names none of the devices the user completed a sign-in from"
}
func (newDevice) Eval(in *Input) float64 {
	if len(in.History) == 0 || in.Attempt.Kind != KindLogin {
		return 0
	}
	if in.Attempt.DeviceID == "" {
		return 1
	}
	for _, s := range in.History {
		if s.DeviceID == in.Attempt.DeviceID {
			return 0
		}
	}
	return 1
}

type newNetwork struct{}

func (newNetwork) Name() string    { return NewNetwork }
func (newNetwork) Weight() float64 { return 10 }
func (newNetwork) Explain() string {
	return "the address's /24 (IPv4) or /48 (IPv6) is none the user completed a sign-in from"
}
func (newNetwork) Eval(in *Input) float64 {
	if len(in.History) == 0 || in.Network == "" {
		return 0
	}
	for _, s := range in.History {
		if s.Network == in.Network {
			return 0
		}
	}
	return 1
}

type newASN struct{}

func (newASN) Name() string    { return NewASN }
func (newASN) Weight() float64 { return 10 }
func (newASN) Explain() string {
	return "the address's autonomous system (provider) is none the user completed a sign-in from (needs the ASN database)"
}
func (newASN) Eval(in *Input) float64 {
	if !in.ASNOn || in.Place.ASN == 0 {
		return 0
	}
	seen := false
	for _, s := range in.History {
		if s.ASN != 0 {
			seen = true
			if s.ASN == in.Place.ASN {
				return 0
			}
		}
	}
	return b2f(seen)
}

type newCountry struct{}

func (newCountry) Name() string    { return NewCountry }
func (newCountry) Weight() float64 { return 25 }
func (newCountry) Explain() string {
	return "the address's country is none the user completed a sign-in from (needs the GeoIP database)"
}
func (newCountry) Eval(in *Input) float64 {
	if !in.GeoOn || in.Place.Country == "" {
		return 0
	}
	seen := false
	for _, s := range in.History {
		if s.Country != "" {
			seen = true
			if s.Country == in.Place.Country {
				return 0
			}
		}
	}
	return b2f(seen)
}

type impossibleTravel struct{}

func (impossibleTravel) Name() string    { return ImpossibleTravel }
func (impossibleTravel) Weight() float64 { return 60 }
func (impossibleTravel) Explain() string {
	return "reaching the address's place from the user's last completed sign-in would take more than 1,000 km/h"
}
func (impossibleTravel) Eval(in *Input) float64 {
	if !in.GeoOn || !in.Place.HasCoords || len(in.History) == 0 {
		return 0
	}
	last := in.History[0]
	if !last.HasGeo {
		return 0
	}
	km := DistanceKM(last.Lat, last.Lon, in.Place.Lat, in.Place.Lon)
	// Within one city's reach (GeoIP places are coarse) nothing is
	// impossible.
	if km < 100 {
		return 0
	}
	hours := in.Now.Sub(last.At).Hours()
	if hours <= 0 {
		return 1
	}
	return b2f(km/hours > MaxSpeedKMH)
}

// DistanceKM is the great-circle distance between two points (haversine).
func DistanceKM(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dlat, dlon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dlat/2)*math.Sin(dlat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dlon/2)*math.Sin(dlon/2)
	return 2 * r * math.Asin(math.Min(1, math.Sqrt(a)))
}

type credentialStuffing struct{}

func (credentialStuffing) Name() string    { return CredentialStuffing }
func (credentialStuffing) Weight() float64 { return 40 }
func (credentialStuffing) Explain() string {
	return "password failures on many accounts from the attempt's network within 10 minutes (stuffing_accounts, default 20)"
}
func (credentialStuffing) Eval(in *Input) float64 {
	return b2f(in.Thresholds.StuffingAccounts > 0 && in.NetworkAccounts >= in.Thresholds.StuffingAccounts)
}

type passwordSpraying struct{}

func (passwordSpraying) Name() string    { return PasswordSpraying }
func (passwordSpraying) Weight() float64 { return 40 }
func (passwordSpraying) Explain() string {
	return "the password tried failed on many accounts within an hour (spray_accounts, default 10), counted by a keyed hash of the password"
}
func (passwordSpraying) Eval(in *Input) float64 {
	return b2f(in.Attempt.PasswordKey != "" && in.Thresholds.SprayAccounts > 0 && in.SprayAccounts >= in.Thresholds.SprayAccounts)
}

type velocity struct{}

func (velocity) Name() string    { return Velocity }
func (velocity) Weight() float64 { return 20 }
func (velocity) Explain() string {
	return "the account failed from many networks within an hour (account_networks, default 5), or a sign-in at an hour the user never signs in (after 10 sign-ins)"
}
func (velocity) Eval(in *Input) float64 {
	if in.Thresholds.AccountNetworks > 0 && in.AccountNetworks >= in.Thresholds.AccountNetworks {
		return 1
	}
	if in.Attempt.Kind == KindLogin && in.Features.SignIns >= 10 && in.Features.HourShare == 0 {
		return 0.5
	}
	return 0
}

type breachedPassword struct{}

func (breachedPassword) Name() string    { return BreachedPassword }
func (breachedPassword) Weight() float64 { return 20 }
func (breachedPassword) Explain() string {
	return "the password is in the breached-password corpus (GATEHOUSE_BREACHED_PASSWORDS)"
}
func (breachedPassword) Eval(in *Input) float64 { return b2f(in.Attempt.Breached) }

type bot struct{}

func (bot) Name() string    { return Bot }
func (bot) Weight() float64 { return 25 }
func (bot) Explain() string {
	return "a headless or scripted user agent, a client without cookies, or a form submitted faster than a person types"
}

// minHumanTime is the least time a person takes from a form's display to
// its submission.
const minHumanTime = 800 * time.Millisecond

// headless are user-agent marks of automation.
var headless = []string{"headlesschrome", "phantomjs", "selenium", "webdriver", "puppeteer", "playwright",
	"python-requests", "python-urllib", "go-http-client", "curl/", "wget/", "libwww", "okhttp", "httpclient",
	"scrapy", "bot", "spider", "crawler"}

// Headless reports whether ua carries a mark of automation (an empty user
// agent included).
func Headless(ua string) bool {
	if strings.TrimSpace(ua) == "" {
		return true
	}
	l := strings.ToLower(ua)
	for _, h := range headless {
		if strings.Contains(l, h) {
			return true
		}
	}
	return false
}

func (bot) Eval(in *Input) float64 {
	a := in.Attempt
	switch {
	case a.NoCookies, a.Elapsed > 0 && a.Elapsed < minHumanTime:
		return 1
	case Headless(a.UserAgent):
		return 1
	}
	return 0
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
