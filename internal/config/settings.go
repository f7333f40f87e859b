package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// setting is one row of the settings table. The table is the only place
// that names a setting, so the YAML file, the environment and the flags
// always agree.
type setting struct {
	key    string // YAML key path, sections separated by dots
	env    string // environment variable
	flag   string // flag name without dashes
	usage  string // help text; " (env X, default Y)" is appended
	def    string // default shown in help; empty means the formatted default
	secret bool   // never echo the value

	// field returns a pointer to the setting's field in c: *string,
	// *Secret, *uint32, *uint8, *int64, *int, *bool or *time.Duration.
	field func(c *Config) any
	// min and max bound integer settings (inclusive). Durations must be
	// greater than zero.
	min, max int64
	// check validates a string setting and returns its normalised value,
	// or a problem message.
	check func(s string) (string, string)
}

// settings is the table of every setting, in the order problems and help
// are reported.
var settings = []setting{
	{key: "addr", env: "GATEHOUSE_ADDR", flag: "addr",
		usage: "listen address",
		field: func(c *Config) any { return &c.Addr }, check: checkAddr},
	{key: "public_url", env: "GATEHOUSE_PUBLIC_URL", flag: "public-url",
		usage: "externally visible base URL", def: "http:// + listen address",
		field: func(c *Config) any { return &c.PublicURL }, check: checkPublicURL},
	{key: "data_dir", env: "GATEHOUSE_DATA_DIR", flag: "data-dir",
		usage: "directory for the SQLite database and master key",
		field: func(c *Config) any { return &c.DataDir }, check: checkNonEmpty},
	{key: "db", env: "GATEHOUSE_DB", flag: "db",
		usage: "database: postgres:// or postgresql:// URL, or sqlite:PATH",
		def:   "SQLite at {data_dir}/gatehouse.db",
		field: func(c *Config) any { return &c.DB }, check: checkDB},
	{key: "master_key", env: "GATEHOUSE_MASTER_KEY", flag: "master-key",
		usage: "base64 encoded 32-byte master key", secret: true,
		def:   "generated and kept in {data_dir}/master.key",
		field: func(c *Config) any { return &c.MasterKey }, check: checkMasterKey},
	{key: "log_level", env: "GATEHOUSE_LOG_LEVEL", flag: "log-level",
		usage: "log level: debug, info, warn or error",
		field: func(c *Config) any { return &c.LogLevel }, check: oneOf("log level", "debug", "info", "warn", "error")},
	{key: "log_format", env: "GATEHOUSE_LOG_FORMAT", flag: "log-format",
		usage: "log format: json or text",
		field: func(c *Config) any { return &c.LogFormat }, check: oneOf("log format", "json", "text")},
	{key: "argon2.memory_kib", env: "GATEHOUSE_ARGON2_MEMORY_KIB", flag: "argon2-memory-kib",
		usage: "Argon2id memory in KiB", min: 64, max: 4194304,
		field: func(c *Config) any { return &c.Argon2.MemoryKiB }},
	{key: "argon2.iterations", env: "GATEHOUSE_ARGON2_ITERATIONS", flag: "argon2-iterations",
		usage: "Argon2id iterations", min: 1, max: 100,
		field: func(c *Config) any { return &c.Argon2.Iterations }},
	{key: "argon2.parallelism", env: "GATEHOUSE_ARGON2_PARALLELISM", flag: "argon2-parallelism",
		usage: "Argon2id parallelism", min: 1, max: 64,
		field: func(c *Config) any { return &c.Argon2.Parallelism }},
	{key: "http.max_body_bytes", env: "GATEHOUSE_HTTP_MAX_BODY_BYTES", flag: "http-max-body-bytes",
		usage: "maximum HTTP request body in bytes", min: 1024, max: 104857600,
		field: func(c *Config) any { return &c.HTTP.MaxBodyBytes }},
	{key: "http.read_header_timeout", env: "GATEHOUSE_HTTP_READ_HEADER_TIMEOUT", flag: "http-read-header-timeout",
		usage: "time allowed to read request headers",
		field: func(c *Config) any { return &c.HTTP.ReadHeaderTimeout }},
	{key: "http.read_timeout", env: "GATEHOUSE_HTTP_READ_TIMEOUT", flag: "http-read-timeout",
		usage: "time allowed to read a whole request",
		field: func(c *Config) any { return &c.HTTP.ReadTimeout }},
	{key: "http.write_timeout", env: "GATEHOUSE_HTTP_WRITE_TIMEOUT", flag: "http-write-timeout",
		usage: "time allowed to write a response",
		field: func(c *Config) any { return &c.HTTP.WriteTimeout }},
	{key: "http.idle_timeout", env: "GATEHOUSE_HTTP_IDLE_TIMEOUT", flag: "http-idle-timeout",
		usage: "how long idle keep-alive connections stay open",
		field: func(c *Config) any { return &c.HTTP.IdleTimeout }},
	{key: "http.shutdown_timeout", env: "GATEHOUSE_HTTP_SHUTDOWN_TIMEOUT", flag: "http-shutdown-timeout",
		usage: "time allowed for graceful shutdown",
		field: func(c *Config) any { return &c.HTTP.ShutdownTimeout }},
	{key: "http.hsts", env: "GATEHOUSE_HTTP_HSTS", flag: "http-hsts",
		usage: "Strict-Transport-Security header sent when public_url is https (max-age=SECONDS, optionally includeSubDomains and preload), or off",
		field: func(c *Config) any { return &c.HTTP.HSTS }, check: checkHSTS},
	{key: "db_max_open_conns", env: "GATEHOUSE_DB_MAX_OPEN_CONNS", flag: "db-max-open-conns",
		usage: "maximum open database connections, 0 for the backend default", min: 0, max: 1000,
		field: func(c *Config) any { return &c.DBMaxOpenConns }},
	{key: "redis_url", env: "GATEHOUSE_REDIS_URL", flag: "redis-url",
		usage: "Redis URL (redis:// or rediss://) for the per-tenant rate limit buckets and the DPoP replay cache", secret: true,
		def:   "buckets kept in the database",
		field: func(c *Config) any { return &c.RedisURL }, check: checkRedisURL},
	{key: "nats_url", env: "GATEHOUSE_NATS_URL", flag: "nats-url",
		usage: "NATS server URL (nats:// or tls://, comma-separated for a cluster): events are also published to the JetStream stream GATEHOUSE_EVENTS", secret: true,
		def:   "no NATS publishing",
		field: func(c *Config) any { return &c.NATSURL }, check: checkNATSURL},
	{key: "smtp.host", env: "GATEHOUSE_SMTP_HOST", flag: "smtp-host",
		usage: "SMTP server host; empty writes mails as files under {data_dir}/mail/ and logs their links",
		field: func(c *Config) any { return &c.SMTP.Host }, check: checkHost},
	{key: "smtp.port", env: "GATEHOUSE_SMTP_PORT", flag: "smtp-port",
		usage: "SMTP server port", min: 1, max: 65535,
		field: func(c *Config) any { return &c.SMTP.Port }},
	{key: "smtp.username", env: "GATEHOUSE_SMTP_USERNAME", flag: "smtp-username",
		usage: "SMTP user name (PLAIN auth, only over TLS or to localhost); empty for none",
		field: func(c *Config) any { return &c.SMTP.Username }, check: checkAny},
	{key: "smtp.password", env: "GATEHOUSE_SMTP_PASSWORD", flag: "smtp-password",
		usage: "SMTP password", secret: true, def: "none",
		field: func(c *Config) any { return &c.SMTP.Password }, check: checkAny},
	{key: "smtp.from", env: "GATEHOUSE_SMTP_FROM", flag: "smtp-from",
		usage: "sender of mails, \"Name <address>\" or an address",
		field: func(c *Config) any { return &c.SMTP.From }, check: checkFrom},
	{key: "smtp.tls", env: "GATEHOUSE_SMTP_TLS", flag: "smtp-tls",
		usage: "SMTP TLS: auto (STARTTLS when offered), starttls (required), tls (implicit) or none",
		field: func(c *Config) any { return &c.SMTP.TLS }, check: oneOf("TLS mode", "auto", "starttls", "tls", "none")},
	{key: "ldap.enabled", env: "GATEHOUSE_LDAP_ENABLED", flag: "ldap-enabled",
		usage: "serve the LDAPv3 read interface: true or false",
		field: func(c *Config) any { return &c.LDAP.Enabled }},
	{key: "ldap.addr", env: "GATEHOUSE_LDAP_ADDR", flag: "ldap-addr",
		usage: "LDAP listen address (StartTLS when a certificate is set)",
		field: func(c *Config) any { return &c.LDAP.Addr }, check: checkAddr},
	{key: "ldap.ldaps_addr", env: "GATEHOUSE_LDAPS_ADDR", flag: "ldaps-addr",
		usage: "LDAPS listen address, empty for none; needs the certificate", def: "none",
		field: func(c *Config) any { return &c.LDAP.LDAPSAddr }, check: checkOptionalAddr},
	{key: "ldap.tls_cert", env: "GATEHOUSE_LDAP_TLS_CERT", flag: "ldap-tls-cert",
		usage: "PEM certificate (chain) file for StartTLS and LDAPS", def: "none",
		field: func(c *Config) any { return &c.LDAP.TLSCert }, check: anyString},
	{key: "ldap.tls_key", env: "GATEHOUSE_LDAP_TLS_KEY", flag: "ldap-tls-key",
		usage: "PEM private key file of the LDAP certificate", def: "none",
		field: func(c *Config) any { return &c.LDAP.TLSKey }, check: anyString},
	{key: "ldap.size_limit", env: "GATEHOUSE_LDAP_SIZE_LIMIT", flag: "ldap-size-limit",
		usage: "most entries one LDAP search (or one page) answers", min: 1, max: 100000,
		field: func(c *Config) any { return &c.LDAP.SizeLimit }},
	{key: "ldap.time_limit", env: "GATEHOUSE_LDAP_TIME_LIMIT", flag: "ldap-time-limit",
		usage: "longest one LDAP search may run",
		field: func(c *Config) any { return &c.LDAP.TimeLimit }},
	{key: "admin_tenant", env: "GATEHOUSE_ADMIN_TENANT", flag: "admin-tenant",
		usage: "slug of the tenant whose users sign in to the admin console at /admin and administer the platform",
		field: func(c *Config) any { return &c.AdminTenant }, check: checkNonEmpty},
	{key: "console.idle_timeout", env: "GATEHOUSE_CONSOLE_IDLE_TIMEOUT", flag: "console-idle-timeout",
		usage: "the admin console signs a user out after this long without a request",
		field: func(c *Config) any { return &c.ConsoleIdleTimeout }},
	{key: "trusted_proxies", env: "GATEHOUSE_TRUSTED_PROXIES", flag: "trusted-proxies",
		usage: "comma-separated CIDRs of the proxies whose Forwarded / X-Forwarded-For headers name the client", def: "none",
		field: func(c *Config) any { return &c.TrustedProxies }, check: checkCIDRList},
	{key: "risk.geoip_db", env: "GATEHOUSE_GEOIP_DB", flag: "geoip-db",
		usage: "MaxMind GeoIP2/GeoLite2 City or Country .mmdb file for the geographic risk signals", def: "none (signals off)",
		field: func(c *Config) any { return &c.Risk.GeoIPDB }, check: anyString},
	{key: "risk.geoip_asn_db", env: "GATEHOUSE_GEOIP_ASN_DB", flag: "geoip-asn-db",
		usage: "MaxMind ASN .mmdb file for the new_asn risk signal", def: "none (signal off)",
		field: func(c *Config) any { return &c.Risk.GeoIPASNDB }, check: anyString},
	{key: "risk.breached_passwords", env: "GATEHOUSE_BREACHED_PASSWORDS", flag: "breached-passwords",
		usage: "Have I Been Pwned corpus: a directory of 5-hex-character range files or one sorted SHA1:COUNT file", def: "none (check off)",
		field: func(c *Config) any { return &c.Risk.BreachedPasswords }, check: anyString},
	{key: "tls.mode", env: "GATEHOUSE_TLS", flag: "tls",
		usage: "the HTTP listener's TLS: off (plain HTTP, e.g. behind a proxy), acme (certificates for the public host and verified custom domains from an ACME CA, shared through the database) or files (the certificate and key files below, and certificates uploaded per custom domain)",
		field: func(c *Config) any { return &c.TLS.Mode }, check: oneOf("TLS mode", "off", "acme", "files")},
	{key: "tls.cert_file", env: "GATEHOUSE_TLS_CERT_FILE", flag: "tls-cert-file",
		usage: "PEM certificate (chain) file of the HTTPS listener (tls=files)", def: "none",
		field: func(c *Config) any { return &c.TLS.CertFile }, check: anyString},
	{key: "tls.key_file", env: "GATEHOUSE_TLS_KEY_FILE", flag: "tls-key-file",
		usage: "PEM private key file of the HTTPS listener (tls=files)", def: "none",
		field: func(c *Config) any { return &c.TLS.KeyFile }, check: anyString},
	{key: "tls.client_ca_file", env: "GATEHOUSE_TLS_CLIENT_CA_FILE", flag: "tls-client-ca-file",
		usage: "PEM bundle of the CAs that issue OAuth clients' certificates (tls_client_auth, RFC 8705); with tls=files or acme the listener asks for client certificates", def: "none",
		field: func(c *Config) any { return &c.TLS.ClientCAFile }, check: anyString},
	{key: "mtls.client_cert_header", env: "GATEHOUSE_MTLS_CLIENT_CERT_HEADER", flag: "mtls-client-cert-header",
		usage: "header in which a trusted proxy (trusted_proxies) forwards the client's TLS certificate: RFC 9440 :base64 DER: or URL-escaped PEM",
		field: func(c *Config) any { return &c.MTLSCertHeader }, check: checkHeaderName},
	{key: "regions", env: "GATEHOUSE_REGIONS", flag: "regions",
		usage: "regions and their PostgreSQL databases, name=postgres://...;name=postgres://... (db is then the catalogue database)", secret: true,
		def:   "one region: everything in db",
		field: func(c *Config) any { return &c.Regions }, check: checkRegionDSNs},
	{key: "region", env: "GATEHOUSE_REGION", flag: "region",
		usage: "this node's region, one of regions", def: "none",
		field: func(c *Config) any { return &c.Region }, check: checkRegionName},
	{key: "region_urls", env: "GATEHOUSE_REGION_URLS", flag: "region-urls",
		usage: "public base URL of each region, name=https://...;name=https://...", def: "none",
		field: func(c *Config) any { return &c.RegionURLs }, check: checkRegionURLs},
	{key: "db_replica", env: "GATEHOUSE_DB_REPLICA", flag: "db-replica",
		usage: "PostgreSQL read replica (postgres:// URL) for reads that tolerate a little lag", secret: true, def: "none",
		field: func(c *Config) any { return &c.DBReplica }, check: checkReplicaDSN},
	{key: "region_replicas", env: "GATEHOUSE_REGION_REPLICAS", flag: "region-replicas",
		usage: "read replica of each region, name=postgres://...;...", secret: true, def: "none",
		field: func(c *Config) any { return &c.RegionReplicas }, check: checkRegionDSNs},
}

func checkRegionName(s string) (string, string) {
	if s != "" && !regionNameRE.MatchString(s) {
		return "", "must be lowercase letters, digits and dashes, starting with a letter"
	}
	return s, ""
}

func checkAny(s string) (string, string) {
	if strings.ContainsAny(s, "\r\n") {
		return "", "must be one line"
	}
	return s, ""
}

func checkRedisURL(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return "", "is not a redis:// or rediss:// URL"
	}
	return s, ""
}

func checkNATSURL(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	for _, part := range strings.Split(s, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil || (u.Scheme != "nats" && u.Scheme != "tls") || u.Host == "" {
			return "", "is not a nats:// or tls:// URL (comma-separated for several servers)"
		}
	}
	return s, ""
}

func checkHost(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	if strings.ContainsAny(s, " /:@\r\n") && net.ParseIP(s) == nil {
		return "", fmt.Sprintf("%q is not a host name or IP address", s)
	}
	return s, ""
}

func checkFrom(s string) (string, string) {
	if _, err := mail.ParseAddress(s); err != nil || strings.ContainsAny(s, "\r\n") {
		return "", fmt.Sprintf("%q is not a mail address (e.g. \"Acme <noreply@acme.example>\")", s)
	}
	return s, ""
}

// help returns the flag's help text, naming the env var and the default.
func (s *setting) help() string {
	def := s.def
	if def == "" {
		def = s.format(Default())
	}
	return fmt.Sprintf("%s (env %s, default %s)", s.usage, s.env, def)
}

// format returns the setting's value in c as text (secrets redacted).
func (s *setting) format(c Config) string {
	switch p := s.field(&c).(type) {
	case *string:
		return *p
	case *Secret:
		return p.String()
	case *time.Duration:
		return p.String()
	case *uint32:
		return strconv.FormatUint(uint64(*p), 10)
	case *uint8:
		return strconv.FormatUint(uint64(*p), 10)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *int:
		return strconv.Itoa(*p)
	case *bool:
		return strconv.FormatBool(*p)
	}
	panic("config: unsupported field type for " + s.key)
}

// set parses raw, validates it and stores it in c. It returns a problem
// message, or "" on success; c is unchanged on failure.
func (s *setting) set(c *Config, raw string) string {
	switch p := s.field(c).(type) {
	case *string:
		v, msg := s.check(raw)
		if msg == "" {
			*p = v
		}
		return msg
	case *Secret:
		v, msg := s.check(raw)
		if msg == "" {
			*p = Secret(v)
		}
		return msg
	case *time.Duration:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Sprintf("%s is not a duration (use e.g. 30s, 2m or 1h30m)", s.quote(raw))
		}
		if d <= 0 {
			return fmt.Sprintf("must be greater than 0, got %s", d)
		}
		*p = d
		return ""
	case *bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Sprintf("%s is not true or false", s.quote(raw))
		}
		*p = b
		return ""
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return fmt.Sprintf("%s is out of range (%d..%d)", s.quote(raw), s.min, s.max)
	case err != nil:
		return fmt.Sprintf("%s is not a whole number", s.quote(raw))
	case n < s.min || n > s.max:
		return fmt.Sprintf("%d is out of range (%d..%d)", n, s.min, s.max)
	}
	switch p := s.field(c).(type) {
	case *uint32:
		*p = uint32(n)
	case *uint8:
		*p = uint8(n)
	case *int64:
		*p = n
	case *int:
		if n > math.MaxInt || n < math.MinInt {
			return fmt.Sprintf("%d is out of range", n)
		}
		*p = int(n)
	default:
		panic("config: unsupported field type for " + s.key)
	}
	return ""
}

// quote returns raw quoted for a message, or a placeholder for secrets.
func (s *setting) quote(raw string) string {
	if s.secret {
		return "the value"
	}
	return strconv.Quote(raw)
}

func checkAddr(s string) (string, string) {
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		reason := err.Error()
		if ae, ok := err.(*net.AddrError); ok {
			reason = strings.TrimSuffix(ae.Err, " in address")
		}
		return "", fmt.Sprintf("%q is not host:port (%s)", s, reason)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return "", fmt.Sprintf("%q has an invalid port %q (want 0..65535)", s, port)
	}
	return s, ""
}

// checkOptionalAddr accepts "" (none) or host:port.
func checkOptionalAddr(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	return checkAddr(s)
}

func anyString(s string) (string, string) { return s, "" }

func checkPublicURL(s string) (string, string) {
	if s == "" {
		return "", "" // Load derives it from addr
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		return "", fmt.Sprintf("%q is not a URL", redactURL(s))
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Sprintf("%q is not an absolute http or https URL", redactURL(s))
	case u.Host == "" || u.Opaque != "":
		return "", fmt.Sprintf("%q has no host", redactURL(s))
	case u.User != nil:
		return "", fmt.Sprintf("%q must not contain user info", redactURL(s))
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Sprintf("%q must not have a query", redactURL(s))
	case u.Fragment != "" || strings.Contains(s, "#"):
		return "", fmt.Sprintf("%q must not have a fragment", redactURL(s))
	}
	return strings.TrimRight(s, "/"), ""
}

func checkNonEmpty(s string) (string, string) {
	if s == "" {
		return "", "must not be empty"
	}
	return s, ""
}

const dbForms = "want a postgres:// or postgresql:// URL, or sqlite:PATH"

func checkDB(s string) (string, string) {
	switch {
	case s == "":
		return "", ""
	case strings.HasPrefix(s, "postgres://"), strings.HasPrefix(s, "postgresql://"):
		if _, err := url.Parse(s); err != nil {
			return "", "is not a valid postgres URL"
		}
		return s, ""
	case strings.HasPrefix(s, "sqlite:"):
		path := strings.TrimPrefix(s, "sqlite:")
		if path == "" {
			return "", "sqlite: needs a file path, e.g. sqlite:/var/lib/gatehouse/gatehouse.db"
		}
		if strings.HasPrefix(path, "//") {
			return "", fmt.Sprintf("%q: use sqlite:PATH, not a URL", s)
		}
		return s, ""
	}
	// Name only the scheme: the rest may hold a password.
	if scheme, _, ok := strings.Cut(s, ":"); ok && scheme != "" && !strings.ContainsAny(scheme, "/\\.") {
		return "", fmt.Sprintf("unknown database scheme %q (%s)", scheme, dbForms)
	}
	return "", fmt.Sprintf("%q is not a database URL (%s)", s, dbForms)
}

func checkMasterKey(s string) (string, string) {
	if s == "" {
		return "", ""
	}
	if _, err := decodeMasterKey(s); err != nil {
		return "", "the value " + err.Error()
	}
	return s, ""
}

// oneOf accepts one of the allowed values, case-insensitively, and returns
// it in lower case.
func oneOf(what string, allowed ...string) func(string) (string, string) {
	want := strings.Join(allowed[:len(allowed)-1], ", ") + " or " + allowed[len(allowed)-1]
	return func(s string) (string, string) {
		v := strings.ToLower(s)
		for _, a := range allowed {
			if v == a {
				return v, ""
			}
		}
		return "", fmt.Sprintf("%q is not a %s (want %s)", s, what, want)
	}
}

// checkHSTS accepts "off" or a Strict-Transport-Security value (RFC 6797
// 6.1): max-age in seconds, once, and optionally includeSubDomains and
// preload. It returns the directives joined by "; " in their usual case.
func checkHSTS(s string) (string, string) {
	if strings.EqualFold(strings.TrimSpace(s), "off") {
		return "off", ""
	}
	const want = `want "max-age=SECONDS" with optional "; includeSubDomains" and "; preload", or "off"`
	var out []string
	seen := map[string]bool{}
	for d := range strings.SplitSeq(s, ";") {
		d = strings.TrimSpace(d)
		name, value, hasValue := strings.Cut(d, "=")
		name = strings.ToLower(strings.TrimSpace(name))
		if seen[name] {
			return "", fmt.Sprintf("%q repeats %s (%s)", s, name, want)
		}
		seen[name] = true
		switch {
		case name == "max-age" && hasValue:
			n, err := strconv.ParseUint(strings.Trim(strings.TrimSpace(value), `"`), 10, 32)
			if err != nil {
				return "", fmt.Sprintf("%q: max-age must be a whole number of seconds", s)
			}
			out = append(out, "max-age="+strconv.FormatUint(n, 10))
		case name == "includesubdomains" && !hasValue:
			out = append(out, "includeSubDomains")
		case name == "preload" && !hasValue:
			out = append(out, "preload")
		default:
			return "", fmt.Sprintf("%q is not a Strict-Transport-Security value (%s)", s, want)
		}
	}
	if !seen["max-age"] {
		return "", fmt.Sprintf("%q has no max-age (%s)", s, want)
	}
	return strings.Join(out, "; "), ""
}

// checkCIDRList validates a comma-separated list of CIDRs (a bare address
// is its own /32 or /128) and answers it normalised.
func checkCIDRList(s string) (string, string) {
	ps, err := ParseCIDRList(s)
	if err != nil {
		return "", err.Error()
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return strings.Join(out, ","), ""
}
