package config

import (
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// input is one configuration scenario: a YAML file, environment and args.
type input struct {
	yaml string            // written to a temp file and passed as --config
	env  map[string]string // the whole environment
	args []string
}

// load runs RegisterFlags, Parse and Load for in. It returns the YAML file's
// path ("" without a file).
func load(t *testing.T, in input) (Config, string, error) {
	t.Helper()
	args := in.args
	path := ""
	if in.yaml != "" {
		path = filepath.Join(t.TempDir(), "gatehouse.yaml")
		if err := os.WriteFile(path, []byte(in.yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", path}, args...)
	}
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	l := RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatalf("Parse(%q): %v", args, err)
	}
	cfg, err := l.Load(func(k string) (string, bool) {
		v, ok := in.env[k]
		return v, ok
	})
	return cfg, path, err
}

// problems returns err's problems, failing the test if err is not *Error.
func problems(t *testing.T, err error) []Problem {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want *Error", err, err)
	}
	return e.Problems
}

// loadedDefaults is what Load returns when nothing is configured.
func loadedDefaults() Config {
	c := Default()
	c.PublicURL = "http://127.0.0.1:8080"
	return c
}

func TestDefault(t *testing.T) {
	want := Config{
		Addr: "127.0.0.1:8080", DataDir: "./data", LogLevel: "info", LogFormat: "json",
		Argon2: Argon2Config{MemoryKiB: 19456, Iterations: 2, Parallelism: 1},
		HTTP: HTTPConfig{
			MaxBodyBytes:      1048576,
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 15 * time.Second,
			WriteTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second,
			ShutdownTimeout: 20 * time.Second, HSTS: "max-age=31536000; includeSubDomains",
		},
		SMTP:        SMTPConfig{Port: 587, From: "Gatehouse <noreply@localhost>", TLS: "auto"},
		LDAP:        LDAPConfig{Addr: "127.0.0.1:3389", SizeLimit: 1000, TimeLimit: 30 * time.Second},
		AdminTenant: "default", ConsoleIdleTimeout: 30 * time.Minute,
	}
	if got := Default(); got != want {
		t.Errorf("Default() = %+v\nwant %+v", got, want)
	}
	got, _, err := load(t, input{})
	if err != nil {
		t.Fatal(err)
	}
	want.PublicURL = "http://127.0.0.1:8080"
	if got != want {
		t.Errorf("Load() with nothing set = %+v\nwant %+v", got, want)
	}
}

// contract lists every setting's public names and a valid non-default value.
var contract = []struct {
	yaml, env, flag, value string
	apply                  func(c *Config)
}{
	{"addr", "GATEHOUSE_ADDR", "addr", "0.0.0.0:9000", func(c *Config) { c.Addr, c.PublicURL = "0.0.0.0:9000", "http://0.0.0.0:9000" }},
	{"public_url", "GATEHOUSE_PUBLIC_URL", "public-url", "https://id.example.com/auth/", func(c *Config) { c.PublicURL = "https://id.example.com/auth" }},
	{"data_dir", "GATEHOUSE_DATA_DIR", "data-dir", "/var/lib/gatehouse", func(c *Config) { c.DataDir = "/var/lib/gatehouse" }},
	{"db", "GATEHOUSE_DB", "db", "postgres://gh@db/gh", func(c *Config) { c.DB = "postgres://gh@db/gh" }},
	{"master_key", "GATEHOUSE_MASTER_KEY", "master-key", testKeyStd, func(c *Config) { c.MasterKey = Secret(testKeyStd) }},
	{"log_level", "GATEHOUSE_LOG_LEVEL", "log-level", "WARN", func(c *Config) { c.LogLevel = "warn" }},
	{"log_format", "GATEHOUSE_LOG_FORMAT", "log-format", "text", func(c *Config) { c.LogFormat = "text" }},
	{"argon2.memory_kib", "GATEHOUSE_ARGON2_MEMORY_KIB", "argon2-memory-kib", "65536", func(c *Config) { c.Argon2.MemoryKiB = 65536 }},
	{"argon2.iterations", "GATEHOUSE_ARGON2_ITERATIONS", "argon2-iterations", "3", func(c *Config) { c.Argon2.Iterations = 3 }},
	{"argon2.parallelism", "GATEHOUSE_ARGON2_PARALLELISM", "argon2-parallelism", "4", func(c *Config) { c.Argon2.Parallelism = 4 }},
	{"http.max_body_bytes", "GATEHOUSE_HTTP_MAX_BODY_BYTES", "http-max-body-bytes", "2048", func(c *Config) { c.HTTP.MaxBodyBytes = 2048 }},
	{"http.read_header_timeout", "GATEHOUSE_HTTP_READ_HEADER_TIMEOUT", "http-read-header-timeout", "1s", func(c *Config) { c.HTTP.ReadHeaderTimeout = time.Second }},
	{"http.read_timeout", "GATEHOUSE_HTTP_READ_TIMEOUT", "http-read-timeout", "2s", func(c *Config) { c.HTTP.ReadTimeout = 2 * time.Second }},
	{"http.write_timeout", "GATEHOUSE_HTTP_WRITE_TIMEOUT", "http-write-timeout", "3s", func(c *Config) { c.HTTP.WriteTimeout = 3 * time.Second }},
	{"http.idle_timeout", "GATEHOUSE_HTTP_IDLE_TIMEOUT", "http-idle-timeout", "4s", func(c *Config) { c.HTTP.IdleTimeout = 4 * time.Second }},
	{"http.shutdown_timeout", "GATEHOUSE_HTTP_SHUTDOWN_TIMEOUT", "http-shutdown-timeout", "1m30s", func(c *Config) { c.HTTP.ShutdownTimeout = 90 * time.Second }},
	{"http.hsts", "GATEHOUSE_HTTP_HSTS", "http-hsts", " max-age=600 ;INCLUDESUBDOMAINS; preload", func(c *Config) { c.HTTP.HSTS = "max-age=600; includeSubDomains; preload" }},
	{"db_max_open_conns", "GATEHOUSE_DB_MAX_OPEN_CONNS", "db-max-open-conns", "25", func(c *Config) { c.DBMaxOpenConns = 25 }},
	{"redis_url", "GATEHOUSE_REDIS_URL", "redis-url", "redis://127.0.0.1:6379/0", func(c *Config) { c.RedisURL = "redis://127.0.0.1:6379/0" }},
	{"nats_url", "GATEHOUSE_NATS_URL", "nats-url", "nats://127.0.0.1:4222", func(c *Config) { c.NATSURL = "nats://127.0.0.1:4222" }},
	{"smtp.host", "GATEHOUSE_SMTP_HOST", "smtp-host", "mail.example.com", func(c *Config) { c.SMTP.Host = "mail.example.com" }},
	{"smtp.port", "GATEHOUSE_SMTP_PORT", "smtp-port", "465", func(c *Config) { c.SMTP.Port = 465 }},
	{"smtp.username", "GATEHOUSE_SMTP_USERNAME", "smtp-username", "gh", func(c *Config) { c.SMTP.Username = "gh" }},
	{"smtp.password", "GATEHOUSE_SMTP_PASSWORD", "smtp-password", "s3cret", func(c *Config) { c.SMTP.Password = "s3cret" }},
	{"smtp.from", "GATEHOUSE_SMTP_FROM", "smtp-from", "Acme <id@acme.example>", func(c *Config) { c.SMTP.From = "Acme <id@acme.example>" }},
	{"smtp.tls", "GATEHOUSE_SMTP_TLS", "smtp-tls", "STARTTLS", func(c *Config) { c.SMTP.TLS = "starttls" }},
	{"ldap.enabled", "GATEHOUSE_LDAP_ENABLED", "ldap-enabled", "true", func(c *Config) { c.LDAP.Enabled = true }},
	{"ldap.addr", "GATEHOUSE_LDAP_ADDR", "ldap-addr", "0.0.0.0:389", func(c *Config) { c.LDAP.Addr = "0.0.0.0:389" }},
	{"ldap.ldaps_addr", "GATEHOUSE_LDAPS_ADDR", "ldaps-addr", "0.0.0.0:636", func(c *Config) { c.LDAP.LDAPSAddr = "0.0.0.0:636" }},
	{"ldap.tls_cert", "GATEHOUSE_LDAP_TLS_CERT", "ldap-tls-cert", "/etc/gh/ldap.crt", func(c *Config) { c.LDAP.TLSCert = "/etc/gh/ldap.crt" }},
	{"ldap.tls_key", "GATEHOUSE_LDAP_TLS_KEY", "ldap-tls-key", "/etc/gh/ldap.key", func(c *Config) { c.LDAP.TLSKey = "/etc/gh/ldap.key" }},
	{"ldap.size_limit", "GATEHOUSE_LDAP_SIZE_LIMIT", "ldap-size-limit", "500", func(c *Config) { c.LDAP.SizeLimit = 500 }},
	{"ldap.time_limit", "GATEHOUSE_LDAP_TIME_LIMIT", "ldap-time-limit", "5s", func(c *Config) { c.LDAP.TimeLimit = 5 * time.Second }},
	{"admin_tenant", "GATEHOUSE_ADMIN_TENANT", "admin-tenant", "ops", func(c *Config) { c.AdminTenant = "ops" }},
	{"console.idle_timeout", "GATEHOUSE_CONSOLE_IDLE_TIMEOUT", "console-idle-timeout", "10m", func(c *Config) { c.ConsoleIdleTimeout = 10 * time.Minute }},
	{"trusted_proxies", "GATEHOUSE_TRUSTED_PROXIES", "trusted-proxies", "127.0.0.1, 10.1.0.0/16,2001:db8::/32",
		func(c *Config) { c.TrustedProxies = "127.0.0.1/32,10.1.0.0/16,2001:db8::/32" }},
	{"risk.geoip_db", "GATEHOUSE_GEOIP_DB", "geoip-db", "/var/lib/geoip/City.mmdb", func(c *Config) { c.Risk.GeoIPDB = "/var/lib/geoip/City.mmdb" }},
	{"risk.geoip_asn_db", "GATEHOUSE_GEOIP_ASN_DB", "geoip-asn-db", "/var/lib/geoip/ASN.mmdb", func(c *Config) { c.Risk.GeoIPASNDB = "/var/lib/geoip/ASN.mmdb" }},
	{"risk.breached_passwords", "GATEHOUSE_BREACHED_PASSWORDS", "breached-passwords", "/var/lib/hibp", func(c *Config) { c.Risk.BreachedPasswords = "/var/lib/hibp" }},
}

// yamlFor renders one (possibly nested) key with a double-quoted value.
func yamlFor(key, value string) string {
	if section, leaf, ok := strings.Cut(key, "."); ok {
		return section + ":\n  " + leaf + ": " + yamlQuote(value) + "\n"
	}
	return key + ": " + yamlQuote(value) + "\n"
}

func yamlQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

// TestContract sets every setting through each source in turn and checks
// that the same field changes: the names are a public contract.
func TestContract(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	if n != len(contract)+1 {
		t.Errorf("%d flags registered, want %d settings + --config", n, len(contract)+1)
	}
	for _, c := range contract {
		want := loadedDefaults()
		c.apply(&want)
		for source, in := range map[string]input{
			"yaml":  {yaml: yamlFor(c.yaml, c.value)},
			"env":   {env: map[string]string{c.env: c.value}},
			"flag":  {args: []string{"--" + c.flag, c.value}},
			"flag=": {args: []string{"--" + c.flag + "=" + c.value}},
		} {
			t.Run(c.yaml+"/"+source, func(t *testing.T) {
				got, _, err := load(t, in)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("got  %+v\nwant %+v", got, want)
				}
			})
		}
	}
}

func TestYAMLFile(t *testing.T) {
	file := `# all settings
addr: "0.0.0.0:8443"
public_url: https://login.example.org/
data_dir: /srv/gh
db: sqlite:/srv/gh/main.db
log_level: debug
log_format: text
argon2:
  memory_kib: 65536
  iterations: 4
  parallelism: 2
http:
  max_body_bytes: 4096
  read_header_timeout: 2s
  read_timeout: 10s
  write_timeout: 1m
  idle_timeout: 5m
  shutdown_timeout: 45s
  hsts: max-age=86400
db_max_open_conns: 10
`
	want := Config{
		Addr: "0.0.0.0:8443", PublicURL: "https://login.example.org", DataDir: "/srv/gh",
		DB: "sqlite:/srv/gh/main.db", LogLevel: "debug", LogFormat: "text",
		Argon2: Argon2Config{MemoryKiB: 65536, Iterations: 4, Parallelism: 2},
		HTTP: HTTPConfig{MaxBodyBytes: 4096, ReadHeaderTimeout: 2 * time.Second,
			ReadTimeout: 10 * time.Second, WriteTimeout: time.Minute,
			IdleTimeout: 5 * time.Minute, ShutdownTimeout: 45 * time.Second, HSTS: "max-age=86400"},
		DBMaxOpenConns: 10,
		SMTP:           SMTPConfig{Port: 587, From: "Gatehouse <noreply@localhost>", TLS: "auto"},
		LDAP:           Default().LDAP,
		AdminTenant:    "default", ConsoleIdleTimeout: 30 * time.Minute,
	}
	got, path, err := load(t, input{yaml: file})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("via --config: got %+v\nwant %+v", got, want)
	}

	// The same file named by GATEHOUSE_CONFIG.
	got, _, err = load(t, input{env: map[string]string{"GATEHOUSE_CONFIG": path}})
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("via GATEHOUSE_CONFIG: got %+v\nwant %+v", got, want)
	}
}

func TestPrecedence(t *testing.T) {
	tests := []struct {
		name string
		in   input
		want func(c *Config)
	}{
		{"yaml over default", input{yaml: "log_level: warn\n"},
			func(c *Config) { c.LogLevel = "warn" }},
		{"env over yaml", input{yaml: "log_level: warn\nargon2:\n  iterations: 5\n",
			env: map[string]string{"GATEHOUSE_LOG_LEVEL": "error"}},
			func(c *Config) { c.LogLevel, c.Argon2.Iterations = "error", 5 }},
		{"flag over env", input{env: map[string]string{"GATEHOUSE_ADDR": "127.0.0.1:1", "GATEHOUSE_DATA_DIR": "/env"},
			args: []string{"--addr", "127.0.0.1:2"}},
			func(c *Config) { c.Addr, c.PublicURL, c.DataDir = "127.0.0.1:2", "http://127.0.0.1:2", "/env" }},
		{"flag over env over yaml", input{yaml: "http:\n  read_timeout: 1s\n",
			env:  map[string]string{"GATEHOUSE_HTTP_READ_TIMEOUT": "2s"},
			args: []string{"--http-read-timeout=3s"}},
			func(c *Config) { c.HTTP.ReadTimeout = 3 * time.Second }},
		{"overridden bad env value is not an error", input{env: map[string]string{"GATEHOUSE_ADDR": "abc"},
			args: []string{"--addr", "127.0.0.1:3"}},
			func(c *Config) { c.Addr, c.PublicURL = "127.0.0.1:3", "http://127.0.0.1:3" }},
		{"env set empty overrides yaml", input{yaml: "db: postgres://x/y\n", env: map[string]string{"GATEHOUSE_DB": ""}},
			func(c *Config) {}},
		{"yaml null keeps default", input{yaml: "addr: ~\nhttp:\n"}, func(c *Config) {}},
		{"empty yaml file", input{yaml: "# nothing\n"}, func(c *Config) {}},
		{"public_url from addr without host", input{env: map[string]string{"GATEHOUSE_ADDR": ":9000"}},
			func(c *Config) { c.Addr, c.PublicURL = ":9000", "http://localhost:9000" }},
		{"public_url from IPv6 addr", input{args: []string{"--addr", "[::1]:9000"}},
			func(c *Config) { c.Addr, c.PublicURL = "[::1]:9000", "http://[::1]:9000" }},
		{"explicit public_url wins over addr", input{args: []string{"--addr", ":1", "--public-url", "https://a.example//"}},
			func(c *Config) { c.Addr, c.PublicURL = ":1", "https://a.example" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := loadedDefaults()
			tt.want(&want)
			got, _, err := load(t, tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestConfigFlagOverridesConfigEnv(t *testing.T) {
	other := filepath.Join(t.TempDir(), "other.yaml")
	if err := os.WriteFile(other, []byte("log_level: error\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _, err := load(t, input{yaml: "log_level: debug\n", env: map[string]string{"GATEHOUSE_CONFIG": other}})
	if err != nil {
		t.Fatal(err)
	}
	if got.LogLevel != "debug" {
		t.Errorf("LogLevel = %q, want debug from the --config file", got.LogLevel)
	}
}

func TestYAMLStructureProblems(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []Problem // Source is relative to the file: "" or ":LINE"
	}{
		{"unknown top-level key", "addr: ':1'\nadress: x\n",
			[]Problem{{"adress", ":2", "unknown key"}}},
		{"unknown nested key", "argon2:\n  memory_kib: 64\n  memry_kib: 128\n",
			[]Problem{{"argon2.memry_kib", ":3", "unknown key"}}},
		{"unknown section", "htp:\n  read_timeout: 1s\n",
			[]Problem{{"htp", ":1", "unknown key"}}},
		{"flat dotted key is unknown", "argon2.memory_kib: 64\n",
			[]Problem{{"argon2.memory_kib", ":1", "unknown key"}}},
		{"leaf given as section", "http: 5s\n",
			[]Problem{{"http", ":1", "must be a mapping of http.* keys"}}},
		{"mapping given for a value", "addr:\n  host: x\n",
			[]Problem{{"addr", ":1", "must be a single value, not a list or mapping"}}},
		{"duplicate key", "log_level: info\nlog_level: debug\n",
			[]Problem{{"log_level", ":2", "duplicate key"}}},
		{"not a mapping", "- addr\n",
			[]Problem{{"", ":1", "must be a YAML mapping of settings"}}},
		{"two documents", "addr: ':1'\n---\naddr: ':2'\n",
			[]Problem{{"", "", "must hold exactly one YAML document"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, path, err := load(t, input{yaml: tt.yaml})
			got := problems(t, err)
			for i := range tt.want {
				tt.want[i].Source = path + tt.want[i].Source
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("problems = %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestFileProblems(t *testing.T) {
	_, path, err := load(t, input{yaml: "addr: [unclosed\n"})
	p := problems(t, err)
	if len(p) != 1 || p[0].Source != path || !strings.HasPrefix(p[0].Message, "yaml: ") {
		t.Errorf("syntax error: problems = %+v", p)
	}

	missing := filepath.Join(t.TempDir(), "missing.yaml")
	for _, in := range []struct {
		in        input
		key, from string
	}{
		{input{args: []string{"--config", missing}}, "--config", SourceFlag},
		{input{env: map[string]string{"GATEHOUSE_CONFIG": missing}}, "GATEHOUSE_CONFIG", SourceEnv},
	} {
		_, _, err := load(t, in.in)
		p := problems(t, err)
		if len(p) != 1 || p[0].Key != in.key || p[0].Source != in.from || !strings.Contains(p[0].Message, "no such file") {
			t.Errorf("missing file via %s: problems = %+v", in.key, p)
		}
	}
}

func TestLoadBeforeParse(t *testing.T) {
	l := RegisterFlags(flag.NewFlagSet("test", flag.ContinueOnError))
	if _, err := l.Load(nil); err == nil {
		t.Error("Load before Parse succeeded")
	}
}

func TestHelpText(t *testing.T) {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	exact := map[string]string{
		"addr":              "listen address (env GATEHOUSE_ADDR, default 127.0.0.1:8080)",
		"config":            "YAML config file (env GATEHOUSE_CONFIG, default none)",
		"argon2-memory-kib": "Argon2id memory in KiB (env GATEHOUSE_ARGON2_MEMORY_KIB, default 19456)",
		"http-idle-timeout": "how long idle keep-alive connections stay open (env GATEHOUSE_HTTP_IDLE_TIMEOUT, default 2m0s)",
	}
	for name, want := range exact {
		if f := fs.Lookup(name); f == nil || f.Usage != want {
			t.Errorf("--%s usage = %v, want %q", name, f, want)
		}
	}
	for _, c := range contract {
		f := fs.Lookup(c.flag)
		if f == nil {
			t.Errorf("--%s not registered", c.flag)
			continue
		}
		if !strings.Contains(f.Usage, "(env "+c.env+", default ") {
			t.Errorf("--%s usage %q does not name %s and the default", c.flag, f.Usage, c.env)
		}
	}
}

// TestHSTSHeader: the header goes out only under an https public URL, with
// the default, a configured value, or none when off.
func TestHSTSHeader(t *testing.T) {
	for _, tt := range []struct{ public, hsts, want string }{
		{"http://127.0.0.1:8080", DefaultHSTS, ""},
		{"https://id.example.com", DefaultHSTS, "max-age=31536000; includeSubDomains"},
		{"HTTPS://id.example.com/auth", "max-age=600", "max-age=600"},
		{"https://id.example.com", "off", ""},
	} {
		c := Default()
		c.PublicURL, c.HTTP.HSTS = tt.public, tt.hsts
		if got := c.HSTSHeader(); got != tt.want {
			t.Errorf("HSTSHeader(%s, %s) = %q, want %q", tt.public, tt.hsts, got, tt.want)
		}
	}
	for _, v := range []string{"off", "OFF", " Off "} {
		if got, msg := checkHSTS(v); got != "off" || msg != "" {
			t.Errorf("checkHSTS(%q) = %q, %q", v, got, msg)
		}
	}
}
