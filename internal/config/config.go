package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"time"
)

// MasterKeySize is the length in bytes of the decoded master key.
const MasterKeySize = 32

// Config is Gatehouse's complete configuration. The zero value is not
// useful; start from [Default] or use [Loader.Load].
type Config struct {
	// Addr is the host:port the HTTP server listens on.
	Addr string
	// PublicURL is the externally visible base URL, without a trailing
	// slash. [Default] leaves it empty; [Loader.Load] fills an empty value
	// with "http://" + Addr (localhost when Addr has no host).
	PublicURL string
	// DataDir holds the SQLite database and the generated master key.
	DataDir string
	// DB selects the database: empty for SQLite at {DataDir}/gatehouse.db,
	// a postgres:// or postgresql:// URL, or sqlite:PATH. Use [Config.DSN].
	DB string
	// MasterKey is the base64 encoded 32-byte master key, or empty to let
	// the server generate and keep one in {DataDir}/master.key. Use
	// [Config.MasterKeyBytes].
	MasterKey Secret
	// LogLevel is one of debug, info, warn or error.
	LogLevel string
	// LogFormat is json or text.
	LogFormat string
	// Argon2 holds the password hashing parameters.
	Argon2 Argon2Config
	// HTTP holds the HTTP server limits and timeouts.
	HTTP HTTPConfig
	// DBMaxOpenConns caps open database connections; 0 keeps the database
	// backend's default.
	DBMaxOpenConns int
	// RedisURL, when set (redis:// or rediss://), keeps the per-tenant
	// rate limit buckets and the DPoP proofs' jtis in Redis instead of the
	// database.
	RedisURL Secret
	// NATSURL, when set (nats:// or tls://, several separated by commas),
	// publishes every catalogue event to the JetStream stream
	// GATEHOUSE_EVENTS (internal/natsink).
	NATSURL Secret
	// SMTP is the outgoing mail server; with no Host, mails are written
	// as files under {DataDir}/mail/ and their links logged.
	SMTP SMTPConfig
	// LDAP configures the LDAPv3 read interface (off unless Enabled).
	LDAP LDAPConfig
	// TrustedProxies are the comma-separated CIDRs of the proxies whose
	// forwarding headers name the client (empty: none, headers ignored).
	// Use [Config.TrustedProxyPrefixes].
	TrustedProxies string
	// Risk configures the risk engine's data files.
	Risk RiskConfig
	// AdminTenant is the slug of the tenant whose users sign in to the
	// admin console at /admin; its platform administrators manage every
	// tenant (internal/console).
	AdminTenant string
	// ConsoleIdleTimeout ends an admin console session unused this long.
	ConsoleIdleTimeout time.Duration
	// TLS is the HTTP listener's own TLS (tls.go).
	TLS TLSConfig
	// MTLSCertHeader names the header in which a trusted proxy forwards
	// the client's TLS certificate (RFC 9440 form or URL-escaped PEM).
	MTLSCertHeader string
	// Domains is TLS termination, custom domains and tracing (domains.go).
	Domains DomainsConfig
	// Regions (GATEHOUSE_REGIONS, "eu=postgres://...;us=postgres://...")
	// names the regions and their databases; Region is this node's;
	// RegionURLs their public URLs; DBReplica and RegionReplicas the read
	// replicas (regions.go, docs/regions.md).
	Regions        Secret
	Region         string
	RegionURLs     string
	DBReplica      Secret
	RegionReplicas Secret
}

// RiskConfig names the risk engine's data files; empty turns the signals
// that need them off.
type RiskConfig struct {
	// GeoIPDB is a MaxMind City or Country database; GeoIPASNDB an ASN one.
	GeoIPDB, GeoIPASNDB string
	// BreachedPasswords is a directory of HIBP range files or one sorted file.
	BreachedPasswords string
}

// SMTPConfig is the outgoing mail server.
type SMTPConfig struct {
	Host     string
	Port     int
	Username string
	Password Secret
	// From is the sender, "Name <address>" or an address.
	From string
	// TLS is auto (STARTTLS when offered), starttls (required), tls
	// (implicit, port 465) or none.
	TLS string
}

// LDAPConfig configures the LDAP listeners. With TLSCert and TLSKey set,
// the plain listener offers StartTLS and refuses binds before it, and
// LDAPSAddr (when set) serves LDAPS.
type LDAPConfig struct {
	Enabled   bool
	Addr      string
	LDAPSAddr string
	TLSCert   string
	TLSKey    string
	// SizeLimit caps the entries of one search (and of one page);
	// TimeLimit caps the time one search may take.
	SizeLimit int
	TimeLimit time.Duration
}

// Argon2Config holds the Argon2id parameters used to hash passwords.
type Argon2Config struct {
	MemoryKiB   uint32 // memory in KiB
	Iterations  uint32 // passes over the memory
	Parallelism uint8  // threads
}

// HTTPConfig holds the HTTP server's request size limit and timeouts.
type HTTPConfig struct {
	MaxBodyBytes      int64
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	ShutdownTimeout   time.Duration
	// HSTS is the Strict-Transport-Security value sent on every response
	// when PublicURL is https, or "off" to send none. Use [Config.HSTSHeader].
	HSTS string
}

// DefaultHSTS is the Strict-Transport-Security value sent under an https
// public URL unless configured otherwise: one year, subdomains included.
const DefaultHSTS = "max-age=31536000; includeSubDomains"

// HSTSHeader answers the Strict-Transport-Security value to send: "" when
// the public URL is not https (browsers ignore the header over http, and
// pinning a host that serves only http would lock users out) or HSTS is off.
func (c Config) HSTSHeader() string {
	if c.HTTP.HSTS == "off" || !strings.HasPrefix(strings.ToLower(c.PublicURL), "https://") {
		return ""
	}
	return c.HTTP.HSTS
}

// Default returns the built-in defaults, the starting point of [Loader.Load].
func Default() Config {
	return Config{
		Addr:      "127.0.0.1:8080",
		DataDir:   "./data",
		LogLevel:  "info",
		LogFormat: "json",
		Argon2: Argon2Config{
			MemoryKiB:   19456,
			Iterations:  2,
			Parallelism: 1,
		},
		HTTP: HTTPConfig{
			MaxBodyBytes:      1 << 20,
			ReadHeaderTimeout: 5 * time.Second,
			ReadTimeout:       15 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       120 * time.Second,
			ShutdownTimeout:   20 * time.Second,
			HSTS:              DefaultHSTS,
		},
		SMTP: SMTPConfig{Port: 587, From: "Gatehouse <noreply@localhost>", TLS: "auto"},
		LDAP: LDAPConfig{Addr: "127.0.0.1:3389", SizeLimit: 1000, TimeLimit: 30 * time.Second},
		TLS:  TLSConfig{Mode: TLSOff},
		// RFC 9440's Client-Cert field under the name proxies commonly use.
		MTLSCertHeader:     "X-Client-Cert",
		AdminTenant:        "default",
		ConsoleIdleTimeout: 30 * time.Minute,
	}
}

// MasterKeyBytes decodes MasterKey. It returns nil, nil when no key is set,
// meaning the server should load or generate {DataDir}/master.key. Errors
// never contain the key.
func (c Config) MasterKeyBytes() ([]byte, error) {
	if c.MasterKey == "" {
		return nil, nil
	}
	return decodeMasterKey(string(c.MasterKey))
}

var (
	errKeyBase64 = errors.New("is not valid base64 (standard or URL-safe, padded or not)")
)

// decodeMasterKey accepts standard or URL-safe base64, padded or not, that
// decodes to exactly MasterKeySize bytes.
func decodeMasterKey(s string) ([]byte, error) {
	urlSafe := strings.ContainsAny(s, "-_")
	padded := strings.HasSuffix(s, "=")
	var enc *base64.Encoding
	switch {
	case urlSafe && padded:
		enc = base64.URLEncoding
	case urlSafe:
		enc = base64.RawURLEncoding
	case padded:
		enc = base64.StdEncoding
	default:
		enc = base64.RawStdEncoding
	}
	if strings.ContainsAny(s, "\r\n") {
		return nil, errKeyBase64 // the decoder would silently skip these
	}
	b, err := enc.Strict().DecodeString(s)
	if err != nil {
		return nil, errKeyBase64
	}
	if len(b) != MasterKeySize {
		return nil, fmt.Errorf("decodes to %d bytes, want %d", len(b), MasterKeySize)
	}
	return b, nil
}

// DSN returns the database driver and data source for DB:
//
//	""                  -> "sqlite", {DataDir}/gatehouse.db
//	"sqlite:PATH"       -> "sqlite", PATH
//	"postgres://..."    -> "postgres", the URL unchanged
//	"postgresql://..."  -> "postgres", the URL unchanged
//
// Any other value (rejected by [Loader.Load]) returns "", "".
func (c Config) DSN() (driver string, dsn string) {
	switch {
	case c.DB == "":
		return "sqlite", filepath.Join(c.DataDir, "gatehouse.db")
	case strings.HasPrefix(c.DB, "sqlite:"):
		return "sqlite", strings.TrimPrefix(c.DB, "sqlite:")
	case strings.HasPrefix(c.DB, "postgres://"), strings.HasPrefix(c.DB, "postgresql://"):
		return "postgres", c.DB
	}
	return "", ""
}

// LogValue implements [slog.LogValuer]. The master key is redacted and so is
// any password in a database URL.
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("public_url", c.PublicURL),
		slog.String("data_dir", c.DataDir),
		slog.String("db", redactURL(c.DB)),
		slog.Any("master_key", c.MasterKey),
		slog.String("log_level", c.LogLevel),
		slog.String("log_format", c.LogFormat),
		slog.Group("argon2",
			slog.Uint64("memory_kib", uint64(c.Argon2.MemoryKiB)),
			slog.Uint64("iterations", uint64(c.Argon2.Iterations)),
			slog.Uint64("parallelism", uint64(c.Argon2.Parallelism)),
		),
		slog.Group("http",
			slog.Int64("max_body_bytes", c.HTTP.MaxBodyBytes),
			slog.String("read_header_timeout", c.HTTP.ReadHeaderTimeout.String()),
			slog.String("read_timeout", c.HTTP.ReadTimeout.String()),
			slog.String("write_timeout", c.HTTP.WriteTimeout.String()),
			slog.String("idle_timeout", c.HTTP.IdleTimeout.String()),
			slog.String("shutdown_timeout", c.HTTP.ShutdownTimeout.String()),
			slog.String("hsts", c.HTTP.HSTS),
		),
		slog.Int("db_max_open_conns", c.DBMaxOpenConns),
	)
}

// redactURL hides the password of a URL with user info; other strings are
// returned unchanged.
func redactURL(s string) string {
	if !strings.Contains(s, "@") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "[unparsable URL]"
	}
	return u.Redacted()
}

// Secret is a string that must not be printed. fmt, slog and encoding/json
// show "[REDACTED]" instead of its value (or "" when it is empty, so that
// "not set" stays visible). Convert it with string(s) to use it.
type Secret string

const redacted = "[REDACTED]"

func (s Secret) display() string {
	if s == "" {
		return ""
	}
	return redacted
}

// String implements [fmt.Stringer] and redacts the value.
func (s Secret) String() string { return s.display() }

// GoString implements [fmt.GoStringer] (%#v) and redacts the value.
func (s Secret) GoString() string { return fmt.Sprintf("%q", s.display()) }

// LogValue implements [slog.LogValuer] and redacts the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.display()) }

// MarshalJSON implements [encoding/json.Marshaler] and redacts the value.
func (s Secret) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%q", s.display()), nil
}

// MarshalText implements [encoding.TextMarshaler] (used by YAML and other
// encoders) and redacts the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.display()), nil }
