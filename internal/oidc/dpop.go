package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// DPoP (RFC 9449): a client proves possession of a key with a signed proof
// JWT in the DPoP header; tokens issued on such a request carry the key's
// RFC 7638 thumbprint (cnf.jkt) and are only accepted with a proof by that
// key. The proof is checked before the request reaches the op router
// (token endpoint and userinfo, see Provider.ServeHTTP); the grants then
// bind what they issue (tokenBinding).

// dpopAlgs are the proof signature algorithms accepted: asymmetric only
// (RFC 9449 4.3: none and MAC algorithms are refused).
var dpopAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.PS256}

// dpopAlgNames is dpopAlgs for discovery and the WWW-Authenticate challenge.
var dpopAlgNames = []string{"ES256", "EdDSA", "RS256", "PS256"}

const (
	// defaultDPoPWindow is how far a proof's iat may be from now, either way.
	defaultDPoPWindow = 60 * time.Second
	// dpopNonceLifetime is how long a server nonce is accepted.
	dpopNonceLifetime = 5 * time.Minute
	// maxDPoPProof bounds a proof's size (an RSA 4096 key fits easily).
	maxDPoPProof = 8 << 10
	// errInvalidDPoPProof and errUseDPoPNonce are RFC 9449's error codes.
	errInvalidDPoPProof = "invalid_dpop_proof"
	errUseDPoPNonce     = "use_dpop_nonce"
)

// dpopProof is what a verified proof establishes.
type dpopProof struct {
	jkt string // RFC 7638 SHA-256 thumbprint of the proof's key, base64url
	// nonce is the proof's nonce claim; nonceOK says it is one of ours and
	// current.
	nonce   string
	nonceOK bool
	// alg is the proof's signature algorithm (FAPI 2.0 allows fewer).
	alg string
}

type dpopKey struct{}

func withDPoP(ctx context.Context, p *dpopProof) context.Context {
	return context.WithValue(ctx, dpopKey{}, p)
}

// dpopFrom is the request's verified proof, nil without one.
func dpopFrom(ctx context.Context) *dpopProof {
	p, _ := ctx.Value(dpopKey{}).(*dpopProof)
	return p
}

func dpopError(desc string) *oidc.Error {
	return &oidc.Error{ErrorType: errInvalidDPoPProof, Description: desc}
}

// verifyDPoP checks the request's DPoP proof (RFC 9449 4.3) for the
// endpoint URL htu: exactly one DPoP header; a JWT in compact form with typ
// dpop+jwt, an accepted algorithm and a public jwk that verifies it
// (dpopSigned); htm the request's method; htu the endpoint without query
// and fragment; iat within the window; jti present and never seen before
// in this tenant (Config.DPoPReplays, shared by every node, so every node
// refuses a replay); ath the hash of accessToken when one is presented. A
// nonce claim is checked against our stateless nonces; whether one is
// required is the grant's business.
func (p *Provider) verifyDPoP(ctx context.Context, r *http.Request, htu, accessToken string) (*dpopProof, *oidc.Error) {
	vals := r.Header.Values("DPoP")
	if len(vals) != 1 {
		return nil, dpopError("exactly one DPoP header is required")
	}
	raw := vals[0]
	if len(raw) > maxDPoPProof {
		return nil, dpopError("proof too long")
	}
	payload, key, oe := p.dpopSigned(raw) // dpopproof.go
	if oe != nil {
		return nil, oe
	}
	var c struct {
		JTI   string `json:"jti"`
		HTM   string `json:"htm"`
		HTU   string `json:"htu"`
		IAT   *int64 `json:"iat"`
		ATH   string `json:"ath"`
		Nonce string `json:"nonce"`
	}
	if json.Unmarshal(payload, &c) != nil {
		return nil, dpopError("claims are not a JSON object")
	}
	now := p.now()
	window := p.dpopWindow
	switch {
	case c.JTI == "" || len(c.JTI) > 256:
		return nil, dpopError("jti missing or too long")
	case c.HTM != r.Method:
		return nil, dpopError("htm does not match the request method")
	case !sameHTU(c.HTU, htu):
		return nil, dpopError("htu does not match the request URL")
	case c.IAT == nil || time.Unix(*c.IAT, 0).Before(now.Add(-window)) || time.Unix(*c.IAT, 0).After(now.Add(window)):
		return nil, dpopError("iat missing or outside the accepted window")
	case time.Unix(*c.IAT, 0).Before(p.dpopSince):
		// The replay memory is this process's and began at its start: a
		// proof made before could have been used before a restart.
		return nil, dpopError("proof made before the server started; make a new one")
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		if !hmac.Equal([]byte(c.ATH), []byte(base64.RawURLEncoding.EncodeToString(sum[:]))) {
			return nil, dpopError("ath does not match the access token")
		}
	} else if c.ATH != "" {
		return nil, dpopError("ath is only for requests with an access token")
	}
	proof := &dpopProof{jkt: key.jkt, nonce: c.Nonce, alg: key.alg}
	if c.Nonce != "" {
		proof.nonceOK = p.dpopNonceValid(ctx, c.Nonce)
	}
	// Remembered for twice the window: a proof is refused by iat before
	// its jti is forgotten. Keyed by thumbprint so clients cannot collide.
	fresh, err := p.dpopReplays.Claim(ctx, tenantFrom(ctx).ID, "dpop:"+proof.jkt+":"+c.JTI, now, 2*window)
	if err != nil {
		p.log.Error("dpop: proof's jti not checked", "err", err)
		return nil, oidc.ErrServerError()
	}
	if !fresh {
		return nil, dpopError("proof already used (jti replayed)")
	}
	return proof, nil
}

// sameHTU compares a proof's htu with the endpoint URL as RFC 9449 4.3
// says: query and fragment ignored, then syntax-based normalisation (RFC
// 3986 6.2.2 and 6.2.3: case of scheme and host, default port, empty
// path as "/").
func sameHTU(got, want string) bool {
	a, err1 := url.Parse(got)
	b, err2 := url.Parse(want)
	if err1 != nil || err2 != nil || a.Scheme == "" || a.Host == "" {
		return false
	}
	norm := func(u *url.URL) string {
		scheme := strings.ToLower(u.Scheme)
		host := strings.ToLower(u.Hostname())
		port := u.Port()
		if scheme == "https" && port == "443" || scheme == "http" && port == "80" {
			port = ""
		}
		if port != "" {
			host += ":" + port
		}
		path := u.EscapedPath()
		if path == "" {
			path = "/"
		}
		return scheme + "://" + host + path
	}
	return norm(a) == norm(b)
}

// newDPoPNonce is a stateless server nonce: the time it was made and an
// HMAC over it and the tenant, so any node can check it without storage.
func (p *Provider) newDPoPNonce(ctx context.Context) string {
	var ts [8]byte
	binary.BigEndian.PutUint64(ts[:], uint64(p.now().Unix()))
	return base64.RawURLEncoding.EncodeToString(append(ts[:], p.dpopNonceMAC(ctx, ts[:])...))
}

func (p *Provider) dpopNonceMAC(ctx context.Context, ts []byte) []byte {
	m := hmac.New(sha256.New, p.dpopNonceKey)
	m.Write([]byte(tenantFrom(ctx).ID))
	m.Write([]byte{0})
	m.Write(ts)
	return m.Sum(nil)[:16]
}

// dpopNonceValid: the nonce is ours, for this tenant, and younger than
// dpopNonceLifetime.
func (p *Provider) dpopNonceValid(ctx context.Context, nonce string) bool {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 8+16 {
		return false
	}
	if !hmac.Equal(b[8:], p.dpopNonceMAC(ctx, b[:8])) {
		return false
	}
	made := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	now := p.now()
	return !made.After(now.Add(time.Second)) && now.Sub(made) < dpopNonceLifetime
}

// tokenDPoP runs at the token endpoint before the op router: it offers a
// fresh nonce (DPoP-Nonce) and, when the request carries a proof, verifies
// it, answering 400 invalid_dpop_proof (and true) when it fails. The
// verified proof travels in the returned context to the grant.
func (p *Provider) tokenDPoP(w http.ResponseWriter, r *http.Request) (context.Context, bool) {
	ctx := r.Context()
	w.Header().Set("DPoP-Nonce", p.newDPoPNonce(ctx))
	if len(r.Header.Values("DPoP")) == 0 {
		return ctx, false
	}
	proof, oe := p.verifyDPoP(ctx, r, p.issuer(ctx)+"/oauth/token", "")
	if oe != nil {
		op.WriteError(w, r, oe, nil)
		return ctx, true
	}
	return withDPoP(ctx, proof), false
}

// tokenBinding is the thumbprint the grant's tokens are bound to: the
// proof's key, or "" without a proof. A client registered with
// dpop_bound_access_tokens must send a proof; one that requires nonces
// must send a current nonce of ours (RFC 9449 8: use_dpop_nonce, with
// DPoP-Nonce already on the response); a nonce that is not current is
// refused the same way whatever the client's policy.
func (p *Provider) tokenBinding(ctx context.Context, c *client) (string, error) {
	proof := dpopFrom(ctx)
	if err := p.senderConstraint(ctx, c, proof); err != nil { // mtls.go, fapi.go
		return "", err
	}
	switch {
	case proof == nil && c.c.DPoPBound:
		return "", dpopError("this client must send a DPoP proof")
	case proof == nil:
		return "", nil
	case proof.nonce != "" && !proof.nonceOK, proof.nonce == "" && c.c.DPoPNonce:
		return "", &oidc.Error{ErrorType: errUseDPoPNonce, Description: "send the nonce from the DPoP-Nonce header in the proof"}
	}
	return proof.jkt, nil
}

// tokenType is the token_type of a response: DPoP for bound tokens.
func tokenType(jkt string) string {
	if jkt != "" {
		return "DPoP"
	}
	return oidc.BearerToken
}

// dpopChallenge is the WWW-Authenticate value for a refused DPoP request.
func dpopChallenge(code, desc string) string {
	return `DPoP error="` + code + `", error_description="` + desc + `", algs="` + strings.Join(dpopAlgNames, " ") + `"`
}

// userinfoDPoP runs at userinfo before the op router. A DPoP-scheme
// request must carry a proof for this URL with ath of its token, the
// token must be bound (cnf.jkt) to the proof's key; then the header is
// rewritten to the Bearer scheme the library reads. A bound token under
// the Bearer scheme is refused (RFC 9449 7.1): 401 with a DPoP challenge.
// It answers true when it has written the response.
func (p *Provider) userinfoDPoP(w http.ResponseWriter, r *http.Request) bool {
	ctx := r.Context()
	authz := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(authz, " ")
	if !ok || token == "" {
		return false
	}
	refuse := func(code, desc string) bool {
		w.Header().Set("WWW-Authenticate", dpopChallenge(code, desc))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
		return true
	}
	isDPoP := strings.EqualFold(scheme, "DPoP")
	if !isDPoP && !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	jkt := ""
	if claims, _, err := p.verifyAccessToken(ctx, token); err == nil { // jwtaccess.go: verified once per request
		jkt = cnfJKT(claims.Claims)
	}
	if !isDPoP {
		if jkt != "" {
			return refuse("invalid_token", "this access token is DPoP-bound: use the DPoP scheme with a proof")
		}
		return false
	}
	proof, oe := p.verifyDPoP(ctx, r, p.issuer(ctx)+"/userinfo", token)
	if oe != nil {
		return refuse(errInvalidDPoPProof, oe.Description)
	}
	if jkt == "" || proof.jkt != jkt {
		return refuse("invalid_token", "the access token is not bound to the proof's key")
	}
	r.Header.Set("Authorization", "Bearer "+token)
	return false
}

// cnfJKT is the jkt of a token's cnf claim, "" when it has none.
func cnfJKT(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}
