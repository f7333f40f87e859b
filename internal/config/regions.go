package config

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
)

// regionNameRE bounds a region's name: it appears in URLs' headers, the
// catalogue and logs.
var regionNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// parsePairs reads "name=value;name=value" (spaces around parts ignored).
// A problem names the first part that is not a pair, has a bad name, or
// repeats a name.
func parsePairs(s string) (map[string]string, []string, string) {
	m := map[string]string{}
	var order []string
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, val, ok := strings.Cut(part, "=")
		name, val = strings.TrimSpace(name), strings.TrimSpace(val)
		switch {
		case !ok || val == "":
			return nil, nil, fmt.Sprintf("%q is not name=value", redactPart(part))
		case !regionNameRE.MatchString(name):
			return nil, nil, fmt.Sprintf("region name %q must be lowercase letters, digits and dashes, starting with a letter", name)
		case m[name] != "":
			return nil, nil, fmt.Sprintf("region %q appears twice", name)
		}
		m[name] = val
		order = append(order, name)
	}
	return m, order, ""
}

// redactPart keeps a malformed part's name, never a password it carries.
func redactPart(p string) string {
	if i := strings.Index(p, "://"); i >= 0 {
		return p[:i] + "://..."
	}
	return p
}

// checkRegionDSNs validates GATEHOUSE_REGIONS and GATEHOUSE_REGION_REPLICAS:
// name=postgres-url pairs (regions need PostgreSQL: nodes of a region share it).
func checkRegionDSNs(s string) (string, string) {
	m, order, msg := parsePairs(s)
	if msg != "" {
		return "", msg
	}
	for _, name := range order {
		if msg := checkPostgresURL(m[name]); msg != "" {
			return "", fmt.Sprintf("region %q: %s", name, msg)
		}
	}
	return s, ""
}

// checkRegionURLs validates GATEHOUSE_REGION_URLS: name=http(s)-url pairs.
func checkRegionURLs(s string) (string, string) {
	m, order, msg := parsePairs(s)
	if msg != "" {
		return "", msg
	}
	for _, name := range order {
		u, err := url.Parse(m[name])
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.TrimSuffix(u.Path, "/") != "" {
			return "", fmt.Sprintf("region %q: %q is not an http(s) base URL without a path", name, m[name])
		}
	}
	return s, ""
}

func checkPostgresURL(s string) string {
	if !strings.HasPrefix(s, "postgres://") && !strings.HasPrefix(s, "postgresql://") {
		return "is not a postgres:// URL"
	}
	if _, err := url.Parse(s); err != nil {
		return "is not a valid postgres URL"
	}
	return ""
}

// CheckRegions is the cross-setting check of the regions, run when a
// deployment opens (each setting alone is checked by Load): the node's
// region is one of them, every region has a URL, every URL and replica
// names a region, and the catalogue is on PostgreSQL.
func (c Config) CheckRegions() error {
	if p := c.regionProblems(); len(p) > 0 {
		return &Error{Problems: p}
	}
	return nil
}

func (c Config) regionProblems() []Problem {
	dsns := c.RegionDSNs()
	var out []Problem
	add := func(key, msg string) { out = append(out, Problem{Key: key, Message: msg}) }
	if len(dsns) == 0 {
		if c.Region != "" || c.RegionURLs != "" || c.RegionReplicas != "" {
			add("GATEHOUSE_REGIONS", "is required when GATEHOUSE_REGION, GATEHOUSE_REGION_URLS or GATEHOUSE_REGION_REPLICAS is set")
		}
		return out
	}
	names := c.RegionNames()
	urls := c.RegionURLMap()
	switch {
	case c.Region == "":
		add("GATEHOUSE_REGION", "is required with GATEHOUSE_REGIONS: name this node's region")
	case dsns[c.Region] == "":
		add("GATEHOUSE_REGION", fmt.Sprintf("%q is not one of GATEHOUSE_REGIONS (%s)", c.Region, strings.Join(names, ", ")))
	}
	for _, n := range names {
		if urls[n] == "" {
			add("GATEHOUSE_REGION_URLS", fmt.Sprintf("has no URL for region %q", n))
		}
	}
	for n := range urls {
		if dsns[n] == "" {
			add("GATEHOUSE_REGION_URLS", fmt.Sprintf("names region %q, which GATEHOUSE_REGIONS does not", n))
		}
	}
	reps, _, _ := parsePairs(string(c.RegionReplicas))
	for n := range reps {
		if dsns[n] == "" {
			add("GATEHOUSE_REGION_REPLICAS", fmt.Sprintf("names region %q, which GATEHOUSE_REGIONS does not", n))
		}
	}
	if c.DB == "" || strings.HasPrefix(c.DB, "sqlite:") {
		add("GATEHOUSE_DB", "must be the PostgreSQL catalogue database when GATEHOUSE_REGIONS is set")
	}
	return out
}

// RegionDSNs answers GATEHOUSE_REGIONS as region -> database URL (empty
// when regions are off).
func (c Config) RegionDSNs() map[string]string {
	m, _, _ := parsePairs(string(c.Regions))
	return m
}

// RegionNames answers the regions in the order GATEHOUSE_REGIONS names them.
func (c Config) RegionNames() []string {
	_, order, _ := parsePairs(string(c.Regions))
	return order
}

// RegionURLMap answers GATEHOUSE_REGION_URLS as region -> public base URL
// (no trailing slash).
func (c Config) RegionURLMap() map[string]string {
	m, _, _ := parsePairs(c.RegionURLs)
	for k, v := range m {
		m[k] = strings.TrimSuffix(v, "/")
	}
	return m
}

// RegionsOn reports whether the deployment is split into regions.
func (c Config) RegionsOn() bool { return len(c.RegionDSNs()) > 0 }

// NodeDSN answers the database this node keeps its tenants' rows in: its
// region's database when regions are on, else [Config.DSN].
func (c Config) NodeDSN() (driver, dsn string) {
	if d := c.RegionDSNs()[c.Region]; d != "" {
		return "postgres", d
	}
	return c.DSN()
}

// ReplicaDSN answers the read replica of this node's database, or "":
// GATEHOUSE_REGION_REPLICAS' entry for the node's region, else
// GATEHOUSE_DB_REPLICA.
func (c Config) ReplicaDSN() string {
	reps, _, _ := parsePairs(string(c.RegionReplicas))
	if r := reps[c.Region]; r != "" {
		return r
	}
	return string(c.DBReplica)
}

// WithRegion answers c as a node of region r (the CLI's tenant move opens
// both regions' databases this way).
func (c Config) WithRegion(r string) Config {
	c.Region = r
	return c
}

// HasRegion reports whether r is one of GATEHOUSE_REGIONS.
func (c Config) HasRegion(r string) bool { return slices.Contains(c.RegionNames(), r) }

// checkReplicaDSN validates GATEHOUSE_DB_REPLICA.
func checkReplicaDSN(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	if msg := checkPostgresURL(s); msg != "" {
		return "", msg
	}
	return s, ""
}
