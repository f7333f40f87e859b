package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

// Introspect authenticates the calling resource server first, so a failed
// client authentication is a 401 invalid_client (RFC 7662 2.1, RFC 6749
// 5.2); the library answers 400 unauthorized_client. What it then learns
// of the token is decided by SetIntrospectionFromToken: only the token's
// own client, or a resource server of the tenant, hears active=true.
func (s *server) Introspect(ctx context.Context, r *op.Request[op.IntrospectionRequest]) (*op.Response, error) {
	cc := r.Data.ClientCredentials
	if cc == nil || (cc.ClientAssertion == "" && cc.ClientID == "") {
		return nil, op.NewStatusError(oidc.ErrInvalidClient().WithDescription("client authentication required"), http.StatusUnauthorized)
	}
	// Through our VerifyClient, so private_key_jwt assertions are single
	// use here too and a client's registered method is enforced.
	c, err := s.VerifyClient(ctx, &op.Request[op.ClientCredentials]{Method: r.Method, URL: r.URL,
		Header: r.Header, Form: r.Form, PostForm: r.PostForm, Data: cc})
	if err != nil {
		return nil, err
	}
	if c.AuthMethod() == oidc.AuthMethodNone {
		// A public client proves nothing about itself: no introspection.
		return nil, op.NewStatusError(oidc.ErrInvalidClient().WithDescription("client authentication required"), http.StatusUnauthorized)
	}
	resp := new(oidc.IntrospectionResponse)
	claims, at, err := s.p.liveAccessToken(ctx, r.Data.Token) // jwtaccess.go
	if err != nil && !errors.Is(err, errTokenInactive) {
		return nil, s.p.storage.hide(ctx, err)
	}
	if err != nil || s.p.storage.introspect(ctx, resp, claims, at, c.GetID()) != nil {
		return op.NewResponse(resp), nil
	}
	resp.Active = true
	// RFC 9449 6.2: a bound token's cnf, and its type, for the resource server.
	// RFC 8705 3.2: and a certificate-bound token's x5t#S256.
	cnf := map[string]string{}
	if jkt := cnfJKT(claims.Claims); jkt != "" {
		resp.TokenType = tokenType(jkt)
		cnf["jkt"] = jkt
	}
	if x5t := cnfX5T(claims.Claims); x5t != "" {
		cnf["x5t#S256"] = x5t
	}
	if len(cnf) > 0 {
		if resp.Claims == nil {
			resp.Claims = map[string]any{}
		}
		resp.Claims["cnf"] = cnf
	}
	if ad, ok := claims.Claims["authorization_details"]; ok { // RFC 9396 9.2
		if resp.Claims == nil {
			resp.Claims = map[string]any{}
		}
		resp.Claims["authorization_details"] = ad
	}
	return op.NewResponse(resp), nil
}

// UserInfo answers a token that does not verify, or is revoked or expired,
// with 401 invalid_token (RFC 6750 3.1); the library says access_denied.
func (s *server) UserInfo(ctx context.Context, r *op.Request[oidc.UserInfoRequest]) (*op.Response, error) {
	resp, err := s.userinfo(ctx, r.Data.AccessToken)
	if err != nil {
		var oe *oidc.Error
		if errors.As(err, &oe) && oe.ErrorType == oidc.ServerError {
			return nil, err
		}
		return nil, op.NewStatusError(&oidc.Error{ErrorType: "invalid_token",
			Description: "the access token is invalid, expired or revoked"}, http.StatusUnauthorized)
	}
	return resp, nil
}

// userinfo answers the claims of a live user access token (jwtaccess.go).
func (s *server) userinfo(ctx context.Context, raw string) (*op.Response, error) {
	claims, at, err := s.p.liveAccessToken(ctx, raw)
	if err != nil && !errors.Is(err, errTokenInactive) {
		return nil, s.p.storage.hide(ctx, err)
	}
	if err != nil || at.UserID == "" {
		return nil, errTokenInactive
	}
	info := new(oidc.UserInfo)
	if err := s.p.fillUserinfoCached(ctx, info, at.UserID, s.p.storage.clientRecord(ctx, at.ClientID), claims.Scopes); err != nil {
		return nil, err
	}
	return op.NewResponse(info), nil
}

// protocolWriter adds what the library's responses lack: the challenge
// header of a 401 (RFC 6749 5.2, RFC 6750 3), and iss on the error
// redirects of the authorization endpoint (RFC 9207: every authorization
// response carries it).
type protocolWriter struct {
	http.ResponseWriter
	path   string
	issuer string
	done   bool
	busy   *atomic.Bool // set when the answer is a store.ErrBusy (busy.go)
}

func (w *protocolWriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		h := w.Header()
		switch {
		case code == http.StatusUnauthorized && h.Get("WWW-Authenticate") != "":
			// A challenge set already (DPoP, dpop.go) stands.
		case code == http.StatusUnauthorized && w.path == "/userinfo":
			h.Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		case code == http.StatusUnauthorized:
			h.Set("WWW-Authenticate", `Basic realm="`+w.issuer+`"`)
		case code >= http.StatusBadRequest && w.busy != nil && w.busy.Load():
			// Lock contention: nothing was written, a retry may succeed.
			code = http.StatusServiceUnavailable
			h.Set("Retry-After", httpx.BusyRetryAfter)
		case (code == http.StatusFound || code == http.StatusSeeOther) && w.path == "/authorize":
			h.Set("Location", withIss(h.Get("Location"), w.issuer))
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *protocolWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

func (w *protocolWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// withIss adds iss to an error redirect that lacks it; other locations
// (the login page, successful responses) are left alone.
func withIss(loc, issuer string) string {
	u, err := url.Parse(loc)
	if err != nil || strings.HasPrefix(loc, "/") {
		return loc
	}
	q := u.Query()
	if q.Get("error") == "" || q.Get("iss") != "" {
		return loc
	}
	q.Set("iss", issuer)
	u.RawQuery = q.Encode()
	return u.String()
}

// bodyOnlyEndpoints take client credentials and grant parameters in the
// request body only (RFC 6749 2.3.1 and 3.2, RFC 7009 2.1, RFC 7662 2.1,
// RFC 9126 2): a URL ends up in logs, proxies and browser history.
var bodyOnlyEndpoints = map[string]bool{"/oauth/token": true, "/oauth/introspect": true, "/revoke": true,
	"/device_authorization": true, parPath: true, cibaPath: true}

// refuseURLCredentials answers 400 invalid_request, and reports true, when
// a request carries what must not travel in a URL: any query parameter at
// an endpoint of bodyOnlyEndpoints (their URLs have no query), or an
// access token at userinfo other than in the Authorization header (RFC
// 6750 2.3 and RFC 9700 4.3.2 rule out the query; the form body of RFC
// 6750 2.2 is not offered, as every client can send the header).
func refuseURLCredentials(w http.ResponseWriter, r *http.Request) bool {
	var desc string
	switch {
	case bodyOnlyEndpoints[r.URL.Path] && r.URL.RawQuery != "":
		desc = "parameters must be sent in the request body, not the URL"
	case r.URL.Path == "/userinfo" && r.URL.Query().Has("access_token"):
		desc = "send the access token in the Authorization header, not the URL"
	case r.URL.Path == "/userinfo" && r.Method == http.MethodPost && r.Header.Get("Authorization") == "":
		if err := r.ParseForm(); err == nil && !r.PostForm.Has("access_token") {
			return false
		}
		desc = "send the access token in the Authorization header"
	default:
		return false
	}
	if r.URL.Path == "/userinfo" {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_request"`)
	}
	op.WriteError(w, r, oidc.ErrInvalidRequest().WithDescription("%s", desc), nil)
	return true
}
