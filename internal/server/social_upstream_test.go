package server

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// fakeProvider is an upstream on 127.0.0.1 answering with a provider's
// documented shapes: OpenID discovery and JWKS, a token endpoint that
// checks the code, PKCE and the client's authentication, and profile
// endpoints (Facebook's Graph /me, GitHub's /user and /user/emails).
type fakeProvider struct {
	t   *testing.T
	srv *httptest.Server
	key *rsa.PrivateKey
	// issuer is what discovery and ID tokens name (defaults to the URL).
	issuer string
	mu     sync.Mutex
	codes  map[string]fakeCode
	// claims are the next ID token's (iss, aud, exp, iat, nonce filled in
	// unless set); tokenJSON overrides the token answer's other members.
	claims    map[string]any
	signKey   *rsa.PrivateKey // when set, signs ID tokens instead of key
	hang      time.Duration   // the token endpoint waits this long
	form      bool            // answer the token as a form (GitHub's default)
	clientID  string
	secret    string
	appleKey  *ecdsa.PublicKey // verifies Apple's client-secret JWT
	profile   any              // /me or /user
	emails    any              // /user/emails
	userinfo  any              // /userinfo (404 while nil)
	gotSecret string           // the client_secret the token call carried
}

type fakeCode struct{ nonce, challenge string }

func newFakeProvider(t *testing.T) *fakeProvider {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeProvider{t: t, key: key, codes: map[string]fakeCode{}, clientID: "client-1", secret: "secret-1"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", f.discovery)
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /me", f.bearer(func() any { return f.profile }))
	mux.HandleFunc("GET /user", f.bearer(func() any { return f.profile }))
	mux.HandleFunc("GET /user/emails", f.bearer(func() any { return f.emails }))
	mux.HandleFunc("GET /userinfo", f.bearer(func() any { return f.userinfo }))
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	f.issuer = f.srv.URL
	return f
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// discovery answers any .../.well-known/openid-configuration.
func (f *fakeProvider) discovery(w http.ResponseWriter, r *http.Request) {
	if !strings.HasSuffix(r.URL.Path, "/.well-known/openid-configuration") {
		http.NotFound(w, r)
		return
	}
	f.mu.Lock()
	iss := f.issuer
	f.mu.Unlock()
	writeJSON(w, map[string]any{"issuer": iss, "authorization_endpoint": f.srv.URL + "/authorize",
		"token_endpoint": f.srv.URL + "/token", "jwks_uri": f.srv.URL + "/jwks", "userinfo_endpoint": f.srv.URL + "/userinfo",
		"response_types_supported": []string{"code"}, "subject_types_supported": []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"}})
}

func (f *fakeProvider) bearer(body func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer upstream-access-token" {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		f.mu.Lock()
		v := body()
		f.mu.Unlock()
		if v == nil {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, v)
	}
}

// expect registers the code the test hands to the callback for the
// upstream request that authURL is.
func (f *fakeProvider) expect(t *testing.T, authURL, code string) url.Values {
	t.Helper()
	u, err := url.Parse(authURL)
	if err != nil || !strings.HasPrefix(authURL, f.srv.URL+"/") {
		t.Fatalf("upstream request %q is not to the fake provider", authURL)
	}
	q := u.Query()
	if q.Get("client_id") != f.clientID || q.Get("code_challenge_method") != "S256" || len(q.Get("state")) < 43 {
		t.Fatalf("upstream request lacks client_id, PKCE or state: %s", authURL)
	}
	f.mu.Lock()
	f.codes[code] = fakeCode{nonce: q.Get("nonce"), challenge: q.Get("code_challenge")}
	f.mu.Unlock()
	return q
}

func (f *fakeProvider) token(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang > 0 {
		select {
		case <-time.After(hang):
		case <-r.Context().Done():
		}
	}
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	f.gotSecret = secret
	c, known := f.codes[r.PostForm.Get("code")]
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if !known || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge || id != f.clientID || !f.secretOK(secret) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant"}`))
		return
	}
	delete(f.codes, r.PostForm.Get("code"))
	if f.form {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
		_, _ = w.Write([]byte("access_token=upstream-access-token&scope=read%3Auser%2Cuser%3Aemail&token_type=bearer"))
		return
	}
	out := map[string]any{"access_token": "upstream-access-token", "token_type": "Bearer", "expires_in": 3599,
		"refresh_token": "upstream-refresh-token"}
	if f.claims != nil {
		claims := map[string]any{"iss": f.issuer, "aud": f.clientID, "iat": time.Now().Unix(),
			"exp": time.Now().Add(time.Hour).Unix(), "nonce": c.nonce}
		for k, v := range f.claims {
			claims[k] = v
		}
		out["id_token"] = f.sign(claims)
	}
	writeJSON(w, out)
}

func (f *fakeProvider) secretOK(secret string) bool {
	if f.appleKey == nil {
		return secret == f.secret
	}
	// Apple: an ES256 JWT from the team's key, iss team, sub client id.
	tok, err := jwt.ParseSigned(secret, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil || len(tok.Headers) != 1 || tok.Headers[0].KeyID != "KEY123" {
		return false
	}
	var cl jwt.Claims
	if err := tok.Claims(f.appleKey, &cl); err != nil {
		return false
	}
	return cl.Issuer == "TEAM123" && cl.Subject == f.clientID && cl.Audience.Contains(f.issuer) &&
		cl.ValidateWithLeeway(jwt.Expected{Time: time.Now()}, time.Minute) == nil
}

func (f *fakeProvider) sign(claims map[string]any) string {
	key := f.key
	if f.signKey != nil {
		key = f.signKey
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		f.t.Fatal(err)
	}
	s, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		f.t.Fatal(err)
	}
	return s
}

// set changes the fake's answers under its lock.
func (f *fakeProvider) set(fn func(f *fakeProvider)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

// appleKeyPEM makes a .p8-style key (PKCS #8 EC P-256) and its public half.
func appleKeyPEM(t *testing.T) (string, *ecdsa.PublicKey) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})), &k.PublicKey
}
