package config

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"
)

func newTestFlagSet(out io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(out)
	return fs
}

// TestBadValues gives each bad value through the file, the environment and
// a flag, and checks the problem names the setting as that source does.
func TestBadValues(t *testing.T) {
	tests := []struct {
		name, yaml, env, flag, value string
		msg                          string // the whole Problem.Message
	}{
		{"bad addr", "addr", "GATEHOUSE_ADDR", "addr", "abc", `"abc" is not host:port (missing port)`},
		{"addr too many colons", "addr", "GATEHOUSE_ADDR", "addr", "::1:80", `"::1:80" is not host:port (too many colons)`},
		{"bad port number", "addr", "GATEHOUSE_ADDR", "addr", "127.0.0.1:99999", `"127.0.0.1:99999" has an invalid port "99999" (want 0..65535)`},
		{"named port", "addr", "GATEHOUSE_ADDR", "addr", "127.0.0.1:http", `"127.0.0.1:http" has an invalid port "http" (want 0..65535)`},
		{"empty port", "addr", "GATEHOUSE_ADDR", "addr", "127.0.0.1:", `"127.0.0.1:" has an invalid port "" (want 0..65535)`},
		{"non-http public_url", "public_url", "GATEHOUSE_PUBLIC_URL", "public-url", "ftp://id.example.com", `"ftp://id.example.com" is not an absolute http or https URL`},
		{"relative public_url", "public_url", "GATEHOUSE_PUBLIC_URL", "public-url", "id.example.com/auth", `"id.example.com/auth" is not an absolute http or https URL`},
		{"public_url without host", "public_url", "GATEHOUSE_PUBLIC_URL", "public-url", "https:///x", `"https:///x" has no host`},
		{"public_url with query", "public_url", "GATEHOUSE_PUBLIC_URL", "public-url", "https://id.example.com/?a=1", `"https://id.example.com/?a=1" must not have a query`},
		{"public_url with fragment", "public_url", "GATEHOUSE_PUBLIC_URL", "public-url", "https://id.example.com/#top", `"https://id.example.com/#top" must not have a fragment`},
		{"empty data_dir", "data_dir", "GATEHOUSE_DATA_DIR", "data-dir", "", "must not be empty"},
		{"unknown db scheme", "db", "GATEHOUSE_DB", "db", "mysql://gh:hunter2@db/gh", `unknown database scheme "mysql" (want a postgres:// or postgresql:// URL, or sqlite:PATH)`},
		{"db bare path", "db", "GATEHOUSE_DB", "db", "./gh.db", `"./gh.db" is not a database URL (want a postgres:// or postgresql:// URL, or sqlite:PATH)`},
		{"sqlite without path", "db", "GATEHOUSE_DB", "db", "sqlite:", "sqlite: needs a file path, e.g. sqlite:/var/lib/gatehouse/gatehouse.db"},
		{"sqlite as URL", "db", "GATEHOUSE_DB", "db", "sqlite:///x.db", `"sqlite:///x.db": use sqlite:PATH, not a URL`},
		{"master key wrong length", "master_key", "GATEHOUSE_MASTER_KEY", "master-key", "c2hvcnQta2V5", "the value decodes to 9 bytes, want 32"},
		{"master key bad base64", "master_key", "GATEHOUSE_MASTER_KEY", "master-key", "%%%not-base64%%%", "the value is not valid base64 (standard or URL-safe, padded or not)"},
		{"log level loud", "log_level", "GATEHOUSE_LOG_LEVEL", "log-level", "loud", `"loud" is not a log level (want debug, info, warn or error)`},
		{"log format xml", "log_format", "GATEHOUSE_LOG_FORMAT", "log-format", "xml", `"xml" is not a log format (want json or text)`},
		{"memory 10", "argon2.memory_kib", "GATEHOUSE_ARGON2_MEMORY_KIB", "argon2-memory-kib", "10", "10 is out of range (64..4194304)"},
		{"memory huge", "argon2.memory_kib", "GATEHOUSE_ARGON2_MEMORY_KIB", "argon2-memory-kib", "99999999999999999999", `"99999999999999999999" is out of range (64..4194304)`},
		{"iterations 0", "argon2.iterations", "GATEHOUSE_ARGON2_ITERATIONS", "argon2-iterations", "0", "0 is out of range (1..100)"},
		{"iterations fraction", "argon2.iterations", "GATEHOUSE_ARGON2_ITERATIONS", "argon2-iterations", "2.5", `"2.5" is not a whole number`},
		{"parallelism over uint8", "argon2.parallelism", "GATEHOUSE_ARGON2_PARALLELISM", "argon2-parallelism", "300", "300 is out of range (1..64)"},
		{"ldap enabled yes", "ldap.enabled", "GATEHOUSE_LDAP_ENABLED", "ldap-enabled", "yes", `"yes" is not true or false`},
		{"ldap addr without port", "ldap.addr", "GATEHOUSE_LDAP_ADDR", "ldap-addr", "127.0.0.1", `"127.0.0.1" is not host:port (missing port)`},
		{"ldaps addr without port", "ldap.ldaps_addr", "GATEHOUSE_LDAPS_ADDR", "ldaps-addr", "localhost", `"localhost" is not host:port (missing port)`},
		{"negative body size", "http.max_body_bytes", "GATEHOUSE_HTTP_MAX_BODY_BYTES", "http-max-body-bytes", "-1", "-1 is out of range (1024..104857600)"},
		{"duration ten", "http.read_timeout", "GATEHOUSE_HTTP_READ_TIMEOUT", "http-read-timeout", "ten", `"ten" is not a duration (use e.g. 30s, 2m or 1h30m)`},
		{"duration without unit", "http.write_timeout", "GATEHOUSE_HTTP_WRITE_TIMEOUT", "http-write-timeout", "30", `"30" is not a duration (use e.g. 30s, 2m or 1h30m)`},
		{"zero duration", "http.shutdown_timeout", "GATEHOUSE_HTTP_SHUTDOWN_TIMEOUT", "http-shutdown-timeout", "0s", "must be greater than 0, got 0s"},
		{"negative duration", "http.idle_timeout", "GATEHOUSE_HTTP_IDLE_TIMEOUT", "http-idle-timeout", "-5s", "must be greater than 0, got -5s"},
		{"hsts without max-age", "http.hsts", "GATEHOUSE_HTTP_HSTS", "http-hsts", "includeSubDomains", `"includeSubDomains" has no max-age (want "max-age=SECONDS" with optional "; includeSubDomains" and "; preload", or "off")`},
		{"hsts max-age words", "http.hsts", "GATEHOUSE_HTTP_HSTS", "http-hsts", "max-age=a year", `"max-age=a year": max-age must be a whole number of seconds`},
		{"hsts unknown directive", "http.hsts", "GATEHOUSE_HTTP_HSTS", "http-hsts", "max-age=60; always", `"max-age=60; always" is not a Strict-Transport-Security value (want "max-age=SECONDS" with optional "; includeSubDomains" and "; preload", or "off")`},
		{"redis not a URL", "redis_url", "GATEHOUSE_REDIS_URL", "redis-url", "127.0.0.1:6379", "is not a redis:// or rediss:// URL"},
		{"nats not a URL", "nats_url", "GATEHOUSE_NATS_URL", "nats-url", "127.0.0.1:4222", "is not a nats:// or tls:// URL (comma-separated for several servers)"},
		{"regions not pairs", "regions", "GATEHOUSE_REGIONS", "regions", "postgres://gh:pw@db/gh", `"postgres://..." is not name=value`},
		{"regions not postgres", "regions", "GATEHOUSE_REGIONS", "regions", "eu=sqlite:/x.db", `region "eu": is not a postgres:// URL`},
		{"regions twice", "regions", "GATEHOUSE_REGIONS", "regions", "eu=postgres://a/b;eu=postgres://c/d", `region "eu" appears twice`},
		{"region upper", "region", "GATEHOUSE_REGION", "region", "EU", "must be lowercase letters, digits and dashes, starting with a letter"},
		{"region url path", "region_urls", "GATEHOUSE_REGION_URLS", "region-urls", "eu=https://eu.example/auth", `region "eu": "https://eu.example/auth" is not an http(s) base URL without a path`},
		{"replica not postgres", "db_replica", "GATEHOUSE_DB_REPLICA", "db-replica", "mysql://r/x", "is not a postgres:// URL"},
		{"too many conns", "db_max_open_conns", "GATEHOUSE_DB_MAX_OPEN_CONNS", "db-max-open-conns", "1001", "1001 is out of range (0..1000)"},
	}
	for _, tt := range tests {
		line := ":1"
		if strings.Contains(tt.yaml, ".") {
			line = ":2"
		}
		for _, source := range []string{"yaml", "env", "flag"} {
			t.Run(tt.name+"/"+source, func(t *testing.T) {
				var in input
				var want Problem
				switch source {
				case "yaml":
					in.yaml = yamlFor(tt.yaml, tt.value)
					want = Problem{Key: tt.yaml, Message: tt.msg}
				case "env":
					in.env = map[string]string{tt.env: tt.value}
					want = Problem{Key: tt.env, Source: SourceEnv, Message: tt.msg}
				case "flag":
					in.args = []string{"--" + tt.flag + "=" + tt.value}
					want = Problem{Key: "--" + tt.flag, Source: SourceFlag, Message: tt.msg}
				}
				cfg, path, err := load(t, in)
				if err == nil {
					t.Fatalf("no error; got %+v", cfg)
				}
				if cfg != (Config{}) {
					t.Errorf("Config = %+v on error, want zero", cfg)
				}
				var wantLine string
				if source == "yaml" {
					want.Source = path + line
					wantLine = "config: " + want.Source + ": " + want.Key + ": " + tt.msg
				} else {
					wantLine = "config: " + want.Key + ": " + tt.msg
				}
				if got := problems(t, err); len(got) != 1 || got[0] != want {
					t.Errorf("problems = %+v\nwant [%+v]", got, want)
				}
				if err.Error() != wantLine {
					t.Errorf("Error() = %q\nwant %q", err.Error(), wantLine)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Errorf("Error() leaks a database password: %s", err)
				}
				if strings.HasPrefix(tt.yaml, "master_key") {
					assertNoLeak(t, "Error()", err.Error(), tt.value)
				}
			})
		}
	}
}

func TestErrorExample(t *testing.T) {
	_, _, err := load(t, input{env: map[string]string{"GATEHOUSE_ADDR": "abc"}})
	const want = `config: GATEHOUSE_ADDR: "abc" is not host:port (missing port)`
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
}

// TestAllProblemsReported mixes bad values from every source.
func TestAllProblemsReported(t *testing.T) {
	_, path, err := load(t, input{
		yaml: "argon2:\n  memory_kib: 10\n  salt: 16\nlog_format: xml\n",
		env: map[string]string{
			"GATEHOUSE_ADDR":       "abc",
			"GATEHOUSE_LOG_LEVEL":  "loud",
			"GATEHOUSE_LOG_FORMAT": "yaml", // overrides the file's bad value
			"GATEHOUSE_MASTER_KEY": "c2hvcnQta2V5",
		},
		args: []string{"--http-read-timeout", "ten", "--http-max-body-bytes=-1", "--log-format", "text"},
	})
	want := []Problem{
		{"argon2.salt", path + ":3", "unknown key"},
		{"GATEHOUSE_ADDR", SourceEnv, `"abc" is not host:port (missing port)`},
		{"GATEHOUSE_MASTER_KEY", SourceEnv, "the value decodes to 9 bytes, want 32"},
		{"GATEHOUSE_LOG_LEVEL", SourceEnv, `"loud" is not a log level (want debug, info, warn or error)`},
		{"argon2.memory_kib", path + ":2", "10 is out of range (64..4194304)"},
		{"--http-max-body-bytes", SourceFlag, "-1 is out of range (1024..104857600)"},
		{"--http-read-timeout", SourceFlag, `"ten" is not a duration (use e.g. 30s, 2m or 1h30m)`},
	}
	got := problems(t, err)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("problems:\n%s\nwant:\n%s", (&Error{got}).Error(), (&Error{want}).Error())
	}
	if lines := strings.Split(err.Error(), "\n"); len(lines) != len(want) {
		t.Errorf("Error() has %d lines, want %d:\n%s", len(lines), len(want), err)
	}
}

func TestProblemString(t *testing.T) {
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{"GATEHOUSE_DB", SourceEnv, "bad"}, "GATEHOUSE_DB: bad"},
		{Problem{"--db", SourceFlag, "bad"}, "--db: bad"},
		{Problem{"http.read_timeout", "/etc/gh.yaml:7", "bad"}, "/etc/gh.yaml:7: http.read_timeout: bad"},
		{Problem{"", "/etc/gh.yaml", "yaml: broken"}, "/etc/gh.yaml: yaml: broken"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("%#v.String() = %q, want %q", tt.p, got, tt.want)
		}
	}
	var buf bytes.Buffer
	buf.WriteString((&Error{Problems: []Problem{tests[0].p, tests[1].p}}).Error())
	if buf.String() != "config: GATEHOUSE_DB: bad\nconfig: --db: bad" {
		t.Errorf("Error() = %q", buf.String())
	}
}
