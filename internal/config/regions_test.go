package config

import (
	"strings"
	"testing"
)

// TestCheckRegions: the settings of the regions must agree with each
// other; each problem names its key and never a database password.
func TestCheckRegions(t *testing.T) {
	ok := Config{DB: "postgres://gh@cat/gh", Regions: "eu=postgres://gh:pw@eu/gh;us=postgres://gh:pw@us/gh",
		Region: "eu", RegionURLs: "eu=https://eu.example;us=https://us.example/"}
	if err := ok.CheckRegions(); err != nil {
		t.Fatalf("valid regions refused: %v", err)
	}
	if d, dsn := ok.NodeDSN(); d != "postgres" || dsn != "postgres://gh:pw@eu/gh" {
		t.Errorf("NodeDSN = %s %s", d, dsn)
	}
	if u := ok.RegionURLMap()["us"]; u != "https://us.example" {
		t.Errorf("us URL %q", u)
	}
	if err := (Config{}).CheckRegions(); err != nil {
		t.Errorf("no regions refused: %v", err)
	}
	for name, c := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"region missing":   {func(c *Config) { c.Region = "" }, "GATEHOUSE_REGION: is required"},
		"region unknown":   {func(c *Config) { c.Region = "ap" }, `GATEHOUSE_REGION: "ap" is not one of GATEHOUSE_REGIONS (eu, us)`},
		"url missing":      {func(c *Config) { c.RegionURLs = "eu=https://eu.example" }, `GATEHOUSE_REGION_URLS: has no URL for region "us"`},
		"url extra":        {func(c *Config) { c.RegionURLs += ";ap=https://ap.example" }, `names region "ap"`},
		"replica extra":    {func(c *Config) { c.RegionReplicas = "ap=postgres://r/x" }, `GATEHOUSE_REGION_REPLICAS: names region "ap"`},
		"catalogue sqlite": {func(c *Config) { c.DB = "" }, "GATEHOUSE_DB: must be the PostgreSQL catalogue"},
		"region alone":     {func(c *Config) { c.Regions = "" }, "GATEHOUSE_REGIONS: is required"},
	} {
		cfg := ok
		c.mut(&cfg)
		err := cfg.CheckRegions()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("%s: the error shows a password: %v", name, err)
		}
	}
	// The replica of the node's region wins over GATEHOUSE_DB_REPLICA.
	r := ok
	r.DBReplica = "postgres://any/x"
	if r.ReplicaDSN() != "postgres://any/x" {
		t.Errorf("ReplicaDSN = %q", r.ReplicaDSN())
	}
	r.RegionReplicas = "eu=postgres://eu-r/x;us=postgres://us-r/x"
	if r.ReplicaDSN() != "postgres://eu-r/x" {
		t.Errorf("ReplicaDSN = %q", r.ReplicaDSN())
	}
}
