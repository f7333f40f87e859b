// Package ssf is every tenant's Shared Signals transmitter (OpenID Shared
// Signals Framework 1.0 with CAEP 1.0 and RISC 1.0): the transmitter
// metadata, stream management for receivers (authorised by a management
// API key with scope ssf), push delivery (RFC 8935) and poll delivery
// (RFC 8936) of Security Event Tokens (RFC 8417) signed with the tenant's
// signing keys. The Transmitter is also an events.Sink: it turns
// catalogue events into SETs for the streams whose subjects they concern.
package ssf

import (
	"context"
	"crypto"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/keys"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Limits on what receivers may store.
const (
	MaxStreams         = 25     // streams per tenant
	MaxSubjects        = 100000 // subjects per stream
	PushTimeout        = 10 * time.Second
	pushBatch          = 50 // pending SETs one flush pushes, oldest first
	keyTTL             = 5 * time.Second
	signingAlg         = "RS256"
	maxAuthHeaderBytes = 4096
)

// Transmitter serves the SSF endpoints and delivers SETs. Build it with
// New.
type Transmitter struct {
	store    store.Store
	keys     *keys.Manager
	sealer   *seal.Sealer
	tenants  *tenancy.Service
	recorder *events.Recorder
	public   string
	client   *http.Client
	policy   safehttp.Policy
	urls     connection.URLPolicy
	now      func() time.Time
	log      *slog.Logger

	mu    sync.Mutex
	cache map[store.TenantID]cachedKey
	// flushing serialises one node's pushes per stream (a *sync.Mutex per
	// stream id), so two deliveries do not push the same SETs at once.
	// Across nodes a SET may still be pushed twice; receivers deduplicate
	// by jti (RFC 8935 section 2).
	flushing sync.Map
}

type cachedKey struct {
	loaded time.Time
	kid    string
	signer crypto.Signer
}

// Config is what New needs. PublicURL is the deployment's public URL;
// while it is http:// (development and tests) receivers' push endpoints
// may be loopback http:// URLs, as for upstream connections.
type Config struct {
	Store   store.Store
	Keys    *keys.Manager
	Sealer  *seal.Sealer
	Tenants *tenancy.Service
	// Audit records stream changes (nil: not recorded).
	Audit     *events.Recorder
	PublicURL string
	Now       func() time.Time
	Log       *slog.Logger
}

// New builds a Transmitter. Pushes dial through the outbound policy
// (internal/safehttp), follow no redirects and time out after PushTimeout.
func New(c Config) *Transmitter {
	dev := strings.HasPrefix(c.PublicURL, "http://")
	policy := safehttp.Policy{AllowLoopback: dev}
	client := policy.Client(PushTimeout)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	now, log := c.Now, c.Log
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.Default()
	}
	return &Transmitter{store: c.Store, keys: c.Keys, sealer: c.Sealer, tenants: c.Tenants,
		recorder: c.Audit,
		public:   strings.TrimSuffix(c.PublicURL, "/"), client: client, policy: policy,
		urls: connection.URLPolicy{AllowLoopbackHTTP: dev}, now: now, log: log,
		cache: map[store.TenantID]cachedKey{}}
}

// Issuer is the tenant's issuer, the iss of its SETs.
func (t *Transmitter) Issuer(slug string) string { return t.public + "/t/" + slug }

// signer answers the tenant's active RS256 key, opened, cached for keyTTL
// (rotation publishes the next key before it signs, so a cached key is
// still in the JWKS).
func (t *Transmitter) signer(ctx context.Context, tenant store.TenantID) (string, crypto.Signer, error) {
	t.mu.Lock()
	c, ok := t.cache[tenant]
	t.mu.Unlock()
	if ok && t.now().Sub(c.loaded) < keyTTL {
		return c.kid, c.signer, nil
	}
	k, s, err := t.keys.Active(ctx, t.store, tenant, signingAlg)
	if err != nil {
		return "", nil, err
	}
	t.mu.Lock()
	t.cache[tenant] = cachedKey{loaded: t.now(), kid: k.ID, signer: s}
	t.mu.Unlock()
	return k.ID, s, nil
}

// authAAD binds a stream's sealed Authorization header to its row.
func authAAD(tenant store.TenantID, stream string) []byte {
	return []byte("ssf-auth\x00" + string(tenant) + "\x00" + stream)
}
