// Package risktest builds small MaxMind-format databases and breached-
// password corpora for the risk engine's tests: a City database placing a
// few public networks in known cities, and an ASN database naming their
// providers.
package risktest

import (
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// City is one network of the test databases.
type City struct {
	Network  string
	Country  string
	City     string
	Lat, Lon float64
	ASN      uint32
}

// The networks of the test databases. Addresses in them are examples;
// tests never reach them.
var (
	Berlin    = City{"5.1.0.0/16", "DE", "Berlin", 52.52, 13.405, 64501}
	Munich    = City{"5.2.0.0/16", "DE", "Munich", 48.137, 11.575, 64502}
	Sydney    = City{"1.128.0.0/11", "AU", "Sydney", -33.868, 151.209, 64503}
	NewYork   = City{"8.8.0.0/16", "US", "New York", 40.713, -74.006, 64504}
	BotnetNet = City{"45.10.0.0/16", "NL", "Amsterdam", 52.37, 4.9, 64505}
	Cities    = []City{Berlin, Munich, Sydney, NewYork, BotnetNet}
)

// Databases writes a City and an ASN database of Cities into dir and
// answers their paths.
func Databases(t testing.TB, dir string) (city, asn string) {
	t.Helper()
	cw, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoIP2-City", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	aw, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-ASN", RecordSize: 24})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range Cities {
		_, n, err := net.ParseCIDR(c.Network)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{
			"country":  mmdbtype.Map{"iso_code": mmdbtype.String(c.Country)},
			"city":     mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String(c.City)}},
			"location": mmdbtype.Map{"latitude": mmdbtype.Float64(c.Lat), "longitude": mmdbtype.Float64(c.Lon)},
		}
		if err := cw.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
		if err := aw.Insert(n, mmdbtype.Map{"autonomous_system_number": mmdbtype.Uint32(c.ASN)}); err != nil {
			t.Fatal(err)
		}
	}
	city, asn = filepath.Join(dir, "city.mmdb"), filepath.Join(dir, "asn.mmdb")
	for path, w := range map[string]*mmdbwriter.Tree{city: cw, asn: aw} {
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.WriteTo(f); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return city, asn
}

// Addr answers an address inside c's network (host part host).
func Addr(c City, host byte) string {
	ip, _, err := net.ParseCIDR(c.Network)
	if err != nil {
		panic(err)
	}
	ip = ip.To4()
	out := net.IPv4(ip[0], ip[1], 7, host)
	return out.String()
}
