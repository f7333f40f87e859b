package broker

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/tracing/tracehttp"
	"golang.org/x/oauth2"
)

// maxResponse bounds what an upstream may answer (discovery, JWKS, token,
// profile): past it the body reads fail.
const maxResponse = 1 << 20

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// httpClient is the bounded client every upstream call uses.
func (b *Broker) httpClient() *http.Client {
	b.once.Do(func() {
		timeout := b.Timeout
		if timeout == 0 {
			timeout = DefaultTimeout
		}
		policy := b.Connections.Policy
		b.client = &http.Client{
			Timeout: timeout,
			// The outbound policy (internal/safehttp) refuses private,
			// link-local and (unless the URL policy admits loopback http)
			// loopback addresses after DNS resolution.
			Transport: limitTransport{tracehttp.Transport(safehttp.Policy{AllowLoopback: policy.AllowLoopbackHTTP}.Transport())},
			CheckRedirect: func(req *http.Request, via []*http.Request) error {
				if len(via) >= 3 {
					return errors.New("too many redirects")
				}
				if msg := policy.Check(req.URL.String()); msg != "" {
					return errors.New("redirect to a refused URL")
				}
				return nil
			},
		}
	})
	return b.client
}

// limitTransport cuts response bodies at maxResponse.
type limitTransport struct{ rt http.RoundTripper }

func (l limitTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := l.rt.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	res.Body = &limitBody{rc: res.Body, left: maxResponse}
	return res, nil
}

type limitBody struct {
	rc   io.ReadCloser
	left int64
}

func (l *limitBody) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, fmt.Errorf("upstream response larger than %d bytes", maxResponse)
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitBody) Close() error { return l.rc.Close() }

// clientCtx carries the bounded client to go-oidc and x/oauth2.
func (b *Broker) clientCtx(ctx context.Context) context.Context {
	c := b.httpClient()
	return context.WithValue(oidc.ClientContext(ctx, c), oauth2.HTTPClient, c)
}

// provider answers the OpenID Provider of issuer from discovery, cached
// for 10 minutes (go-oidc caches its JWKS and refetches on an unknown
// key). expectIssuer, when set, is the issuer the document names instead
// (Microsoft's {tenantid} template).
func (b *Broker) provider(ctx context.Context, issuer, expectIssuer string) (*oidc.Provider, error) {
	key := issuer + " " + expectIssuer
	b.mu.Lock()
	if b.providers == nil {
		b.providers = map[string]cachedProvider{}
	}
	cp, ok := b.providers[key]
	b.mu.Unlock()
	if ok && b.now().Sub(cp.at) < 10*time.Minute {
		return cp.p, nil
	}
	dctx := b.clientCtx(ctx)
	if expectIssuer != "" {
		dctx = oidc.InsecureIssuerURLContext(dctx, expectIssuer)
	}
	p, err := oidc.NewProvider(dctx, issuer)
	if err != nil {
		return nil, &Error{Reason: ReasonUnreachable, Err: err}
	}
	var doc struct {
		JWKS     string `json:"jwks_uri"`
		Token    string `json:"token_endpoint"`
		Userinfo string `json:"userinfo_endpoint"`
	}
	if err := p.Claims(&doc); err != nil {
		return nil, &Error{Reason: ReasonConfig, Err: err}
	}
	pol := b.Connections.Policy
	for _, u := range []string{doc.JWKS, doc.Token, p.Endpoint().AuthURL} {
		if msg := pol.Check(u); msg != "" {
			return nil, &Error{Reason: ReasonConfig, Err: fmt.Errorf("discovery names a refused URL %q: %s", u, msg)}
		}
	}
	b.mu.Lock()
	b.providers[key] = cachedProvider{p: p, jwks: doc.JWKS, at: b.now()}
	b.mu.Unlock()
	return p, nil
}

// upstreamIssuerTemplate: Microsoft's common, organizations and consumers
// endpoints publish the issuer with a {tenantid} placeholder.
func upstreamIssuerTemplate(typ, issuer string) string {
	if typ != connection.TypeMicrosoft {
		return ""
	}
	for _, seg := range []string{"/common/", "/organizations/", "/consumers/"} {
		if i := strings.Index(issuer, seg); i >= 0 {
			return issuer[:i] + "/{tenantid}/" + issuer[i+len(seg):]
		}
	}
	return ""
}
