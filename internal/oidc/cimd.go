package oidc

import (
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"

	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Client ID Metadata Documents: when the tenant allows them
// (settings.oauth.client_id_metadata_documents), a client_id that is an
// https URL is fetched through the outbound policy (internal/safehttp: no
// private or, outside development, loopback addresses), with a timeout,
// no redirects and a size limit, and the document (oauthclient cimd.go)
// becomes the client. Documents are cached per URL for cimdTTL, failures
// for cimdFailTTL, so a client_id cannot make us fetch on every request.

const (
	cimdMaxBytes    = 5 << 10
	cimdTimeout     = 5 * time.Second
	cimdTTL         = 5 * time.Minute
	cimdFailTTL     = 30 * time.Second
	cimdMaxEntries  = 1000
	cimdContentType = "application/json"
)

type cimdEntry struct {
	doc []byte // nil: the fetch failed
	at  time.Time
	// synced: the stored copy of this document's client is current, per
	// tenant (cimd.go metadataClient).
	synced map[store.TenantID]bool
}

// cimdFetcher fetches and caches client ID metadata documents.
type cimdFetcher struct {
	client *http.Client
	now    func() time.Time
	mu     sync.Mutex
	cache  map[string]cimdEntry
}

func newCIMDFetcher(allowLoopback bool, now func() time.Time) *cimdFetcher {
	c := safehttp.Policy{AllowLoopback: allowLoopback}.Client(cimdTimeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cimdFetcher{client: c, now: now, cache: map[string]cimdEntry{}}
}

var errCIMD = errors.New("oidc: client ID metadata document unavailable")

// document answers the document at u, from the cache when fresh.
func (f *cimdFetcher) document(ctx context.Context, u string) ([]byte, error) {
	now := f.now()
	f.mu.Lock()
	e, ok := f.cache[u]
	f.mu.Unlock()
	if ok && (e.doc != nil && now.Sub(e.at) < cimdTTL || e.doc == nil && now.Sub(e.at) < cimdFailTTL) {
		if e.doc == nil {
			return nil, errCIMD
		}
		return e.doc, nil
	}
	doc, err := f.fetch(ctx, u)
	f.mu.Lock()
	if len(f.cache) >= cimdMaxEntries {
		for k, v := range f.cache { // drop what has gone stale, else anything
			if now.Sub(v.at) >= cimdTTL {
				delete(f.cache, k)
			}
		}
		for k := range f.cache {
			if len(f.cache) < cimdMaxEntries {
				break
			}
			delete(f.cache, k)
		}
	}
	f.cache[u] = cimdEntry{doc: doc, at: now, synced: map[store.TenantID]bool{}}
	f.mu.Unlock()
	return doc, err
}

// synced reports whether tenant's stored copy of u's client is current
// with the cached document.
func (f *cimdFetcher) synced(u string, tenant store.TenantID) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.cache[u].synced[tenant]
}

// markSynced records that tenant's stored copy matches the cached document.
func (f *cimdFetcher) markSynced(u string, tenant store.TenantID) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if e, ok := f.cache[u]; ok && e.synced != nil {
		e.synced[tenant] = true
	}
}

func (f *cimdFetcher) fetch(ctx context.Context, u string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, errCIMD
	}
	req.Header.Set("Accept", cimdContentType)
	res, err := f.client.Do(req)
	if err != nil {
		return nil, errCIMD
	}
	defer res.Body.Close()
	mt, _, _ := mime.ParseMediaType(res.Header.Get("Content-Type"))
	if res.StatusCode != http.StatusOK || mt != cimdContentType {
		return nil, errCIMD
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, cimdMaxBytes+1))
	if err != nil || len(body) > cimdMaxBytes {
		return nil, errCIMD
	}
	return body, nil
}

// metadataClient is the client a URL client_id names, when the tenant
// allows metadata documents; invalid_client otherwise.
func (s *storage) metadataClient(ctx context.Context, id string) (*client, error) {
	t := tenantFrom(ctx)
	unknown := oidc.ErrInvalidClient().WithDescription("unknown client")
	if t == nil || !oauthclient.IsMetadataURL(id) || s.p.cimd == nil {
		return nil, unknown
	}
	set, err := tenancy.ParseSettings(t.Settings)
	if err != nil || !set.OAuth.ClientIDMetadataDocuments {
		return nil, unknown
	}
	doc, err := s.p.cimd.document(ctx, id)
	if err != nil {
		return nil, oidc.ErrInvalidClient().WithDescription("the client ID metadata document could not be fetched")
	}
	c, err := oauthclient.MetadataDocumentClient(t.ID, id, doc)
	if err != nil {
		s.p.log.InfoContext(ctx, "oidc: client ID metadata document refused", "client_id", id, "err", err)
		return nil, oidc.ErrInvalidClient().WithDescription("the client ID metadata document is not valid")
	}
	if s.p.clients == nil {
		return nil, unknown
	}
	// The stored copy is written once per fetched document and tenant, not
	// on every lookup.
	if !s.p.cimd.synced(id, t.ID) {
		if err := s.p.clients.SyncMetadataClient(ctx, c); err != nil {
			return nil, s.hide(ctx, err)
		}
		s.p.cimd.markSynced(id, t.ID)
	}
	return &client{c: c, loginURL: s.p.issuer(ctx) + "/login"}, nil
}

// isMetadataClientID: such ids are never stored clients.
func isMetadataClientID(id string) bool { return strings.HasPrefix(id, "https://") }
