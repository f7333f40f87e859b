package risk

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// GeoIP places addresses with MaxMind-format databases: a GeoIP2/GeoLite2
// City or Country database (country, and with City also the city and
// coordinates) and optionally an ASN database (the autonomous system).
// A nil *GeoIP, or one without a database, places nothing: the geographic
// signals are then off.
type GeoIP struct {
	city, asn *maxminddb.Reader
	// cityType is the database type the City or Country file declares.
	cityType string
}

// OpenGeoIP opens the databases at cityPath and asnPath ("" for none).
// Errors name the file: a configured database that cannot be read stops
// the start-up.
func OpenGeoIP(cityPath, asnPath string) (*GeoIP, error) {
	g := &GeoIP{}
	if cityPath != "" {
		r, err := maxminddb.Open(cityPath)
		if err != nil {
			return nil, fmt.Errorf("risk: GeoIP database %s: %w", cityPath, err)
		}
		g.city, g.cityType = r, r.Metadata.DatabaseType
	}
	if asnPath != "" {
		r, err := maxminddb.Open(asnPath)
		if err != nil {
			g.Close()
			return nil, fmt.Errorf("risk: GeoIP ASN database %s: %w", asnPath, err)
		}
		g.asn = r
	}
	return g, nil
}

// Close releases the databases.
func (g *GeoIP) Close() error {
	if g == nil {
		return nil
	}
	var errs []error
	if g.city != nil {
		errs = append(errs, g.city.Close())
	}
	if g.asn != nil {
		errs = append(errs, g.asn.Close())
	}
	return errors.Join(errs...)
}

// GeoOn reports whether a City or Country database is loaded.
func (g *GeoIP) GeoOn() bool { return g != nil && g.city != nil }

// ASNOn reports whether an ASN database is loaded.
func (g *GeoIP) ASNOn() bool { return g != nil && g.asn != nil }

// cityRecord is the part of a City or Country record the engine reads.
type cityRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	City struct {
		Names map[string]string `maxminddb:"names"`
	} `maxminddb:"city"`
	Location struct {
		Latitude  *float64 `maxminddb:"latitude"`
		Longitude *float64 `maxminddb:"longitude"`
	} `maxminddb:"location"`
}

type asnRecord struct {
	Number uint32 `maxminddb:"autonomous_system_number"`
}

// Lookup places addr; unknown parts stay zero. A record that does not
// decode places nothing (a database is input like any other).
func (g *GeoIP) Lookup(addr netip.Addr) Place {
	var p Place
	if g == nil || !addr.IsValid() {
		return p
	}
	addr = addr.Unmap()
	if g.city != nil {
		var rec cityRecord
		if err := g.city.Lookup(addr).Decode(&rec); err == nil {
			p.Country, p.City = rec.Country.ISOCode, rec.City.Names["en"]
			if la, lo := rec.Location.Latitude, rec.Location.Longitude; la != nil && lo != nil &&
				*la >= -90 && *la <= 90 && *lo >= -180 && *lo <= 180 {
				p.Lat, p.Lon, p.HasCoords = *la, *lo, true
			}
		}
	}
	if g.asn != nil {
		var rec asnRecord
		if err := g.asn.Lookup(addr).Decode(&rec); err == nil {
			p.ASN = rec.Number
		}
	}
	return p
}

// Status says what the databases give, for /readyz: never an error, an
// absent database only switches signals off.
func (g *GeoIP) Status() map[string]string {
	st := map[string]string{"geoip": "off: GATEHOUSE_GEOIP_DB not set; new_country and impossible_travel are off",
		"geoip_asn": "off: GATEHOUSE_GEOIP_ASN_DB not set; new_asn is off"}
	if g.GeoOn() {
		st["geoip"] = "ok: " + g.cityType
	}
	if g.ASNOn() {
		st["geoip_asn"] = "ok: " + g.asn.Metadata.DatabaseType
	}
	return st
}
