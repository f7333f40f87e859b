package e2e

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/redis/go-redis/v9"

	"github.com/gatehouse-id/gatehouse/internal/ratelimit/redistest"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
)

// dpopKey is a client's DPoP key (RFC 9449), the proofs built with go-jose.
type dpopKey struct {
	t   *testing.T
	alg jose.SignatureAlgorithm
	key crypto.Signer
}

func newDPoPKey(t *testing.T, alg jose.SignatureAlgorithm) *dpopKey {
	t.Helper()
	var (
		k   crypto.Signer
		err error
	)
	switch alg {
	case jose.ES256:
		k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, k, err = ed25519.GenerateKey(rand.Reader)
	default:
		k, err = rsa.GenerateKey(rand.Reader, 2048)
	}
	if err != nil {
		t.Fatal(err)
	}
	return &dpopKey{t: t, alg: alg, key: k}
}

// jkt is the key's RFC 7638 thumbprint.
func (k *dpopKey) jkt() string {
	tp, err := (&jose.JSONWebKey{Key: k.key.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		k.t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// proofOpts change a proof away from the valid one.
type proofOpts struct {
	typ      string         // "" = dpop+jwt
	claims   map[string]any // set (nil value: delete) over the defaults
	jwk      any            // the jwk header instead of the public key
	signWith *dpopKey       // sign with another key than the jwk's
}

// proof is a DPoP proof for method and htu; token, when set, gives ath.
func (k *dpopKey) proof(method, htu, token string, o proofOpts) string {
	k.t.Helper()
	c := map[string]any{"jti": randomID(), "htm": method, "htu": htu, "iat": time.Now().Unix()}
	if token != "" {
		sum := sha256.Sum256([]byte(token))
		c["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	for n, v := range o.claims {
		if v == nil {
			delete(c, n)
		} else {
			c[n] = v
		}
	}
	typ := o.typ
	if typ == "" {
		typ = "dpop+jwt"
	}
	signer := k
	if o.signWith != nil {
		signer = o.signWith
	}
	opts := (&jose.SignerOptions{}).WithType(jose.ContentType(typ))
	if o.jwk != nil {
		opts = opts.WithHeader("jwk", o.jwk)
	} else {
		opts = opts.WithHeader("jwk", jose.JSONWebKey{Key: k.key.Public()})
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: signer.alg, Key: signer.key}, opts)
	if err != nil {
		k.t.Fatal(err)
	}
	payload, _ := json.Marshal(c)
	obj, err := s.Sign(payload)
	if err != nil {
		k.t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		k.t.Fatal(err)
	}
	return out
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// dpopPost posts form to endpoint with the given DPoP headers (none, one,
// or several), client_secret_basic when secret is set, else client_id in
// the form.
func dpopPost(t *testing.T, endpoint string, form url.Values, id, secret string, proofs ...string) oauthResp {
	t.Helper()
	if secret == "" && id != "" {
		form.Set("client_id", id)
	}
	req, err := http.NewRequest("POST", endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if secret != "" {
		req.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret))
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	return send(t, req)
}

// dpopGet calls userinfo with scheme and token, and a proof when set.
func dpopGet(t *testing.T, endpoint, scheme, token, proof string) oauthResp {
	t.Helper()
	req, err := http.NewRequest("GET", endpoint, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", scheme+" "+token)
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return send(t, req)
}

// cnfOf is the cnf.jkt of a JWT's payload (unverified: the tests that
// matter verify at introspection and userinfo).
func cnfOf(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Cnf struct {
			JKT string `json:"jkt"`
		} `json:"cnf"`
	}
	_ = json.Unmarshal(raw, &c)
	return c.Cnf.JKT
}

var ccForm = func() url.Values { return url.Values{"grant_type": {"client_credentials"}} }

// TestDPoP drives DPoP (RFC 9449) through the real server on each backend:
// client_credentials and the code flow with refresh bound to the proof's
// key, the negative cases of RFC 9449 section 11 (docs/SECURITY.md maps
// them), userinfo refusing a bound token as Bearer, server nonces and a
// client for which DPoP is mandatory.
func TestDPoP(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			d := deploy(t, b)
			d.user(t, "default", adaEmail, adaPW)
			m := d.discover(t, "default")
			t.Run("Discovery", func(t *testing.T) { testDPoPDiscovery(t, d) })
			t.Run("ClientCredentials", func(t *testing.T) { testDPoPClientCredentials(t, d, m) })
			t.Run("BadProofs", func(t *testing.T) { testDPoPBadProofs(t, d, m) })
			t.Run("CodeRefreshUserinfo", func(t *testing.T) { testDPoPCodeFlow(t, d, m) })
			t.Run("MandatoryAndNonce", func(t *testing.T) { testDPoPMandatoryNonce(t, d, m) })
		})
	}
}

func testDPoPDiscovery(t *testing.T, d *deployment) {
	res := get(t, nil, d.base+"/t/default/.well-known/openid-configuration")
	algs, _ := res.Body["dpop_signing_alg_values_supported"].([]any)
	got := map[string]bool{}
	for _, a := range algs {
		s, _ := a.(string)
		got[s] = true
	}
	for _, want := range []string{"ES256", "EdDSA", "RS256", "PS256"} {
		if !got[want] {
			t.Errorf("dpop_signing_alg_values_supported %v lacks %s", algs, want)
		}
	}
	if got["none"] || got["HS256"] {
		t.Errorf("dpop_signing_alg_values_supported %v offers a symmetric or none alg", algs)
	}
}

func testDPoPClientCredentials(t *testing.T, d *deployment, m opMeta) {
	id, secret := registered(t, d.env, "default", "--name", "DPoP service", "--grant", "client_credentials")
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.PS256} {
		k := newDPoPKey(t, alg)
		p := k.proof("POST", m.Token, "", proofOpts{})
		res := dpopPost(t, m.Token, ccForm(), id, secret, p)
		if res.Status != 200 || res.str("token_type") != "DPoP" {
			t.Fatalf("%s: client_credentials with a proof: %d %s", alg, res.Status, res.Raw)
		}
		at := res.str("access_token")
		if got := cnfOf(t, at); got != k.jkt() {
			t.Errorf("%s: cnf.jkt %q, want %q", alg, got, k.jkt())
		}
		if res.Header.Get("DPoP-Nonce") == "" {
			t.Errorf("%s: no DPoP-Nonce offered", alg)
		}
		// RFC 9449 6.2: introspection tells the resource server the binding.
		in := introspect(t, m, at, id, secret)
		cnf, _ := in.Body["cnf"].(map[string]any)
		if !active(in) || cnf["jkt"] != k.jkt() || in.str("token_type") != "DPoP" {
			t.Errorf("%s: introspection of a bound token: %s", alg, in.Raw)
		}
		// RFC 9449 11.1: the same proof again is refused.
		if alg == jose.ES256 {
			wantErr(t, "replayed proof", dpopPost(t, m.Token, ccForm(), id, secret, p), 400, "invalid_dpop_proof")
		}
	}
	// Without a proof the token stays a Bearer token without cnf.
	res := dpopPost(t, m.Token, ccForm(), id, secret)
	if res.Status != 200 || res.str("token_type") != "Bearer" || cnfOf(t, res.str("access_token")) != "" {
		t.Errorf("client_credentials without a proof: %d %s", res.Status, res.Raw)
	}
	if in := introspect(t, m, res.str("access_token"), id, secret); in.Body["cnf"] != nil {
		t.Errorf("unbound token introspected with cnf: %s", in.Raw)
	}
}

func testDPoPBadProofs(t *testing.T, d *deployment, m opMeta) {
	id, secret := registered(t, d.env, "default", "--name", "DPoP bad", "--grant", "client_credentials")
	k := newDPoPKey(t, jose.ES256)
	other := newDPoPKey(t, jose.ES256)
	ecPriv := k.key.(*ecdsa.PrivateKey)
	now := time.Now().Unix()
	u, _ := url.Parse(m.Token)
	cases := []struct {
		name  string
		proof func() string
	}{
		{"htm GET", func() string { return k.proof("GET", m.Token, "", proofOpts{}) }},
		{"htu other endpoint", func() string { return k.proof("POST", m.Issuer+"/oauth/introspect", "", proofOpts{}) }},
		{"htu other host", func() string {
			return k.proof("POST", "https://evil.example"+u.Path, "", proofOpts{})
		}},
		{"iat 5 min old", func() string {
			return k.proof("POST", m.Token, "", proofOpts{claims: map[string]any{"iat": now - 300}})
		}},
		{"iat 5 min ahead", func() string {
			return k.proof("POST", m.Token, "", proofOpts{claims: map[string]any{"iat": now + 300}})
		}},
		{"iat missing", func() string { return k.proof("POST", m.Token, "", proofOpts{claims: map[string]any{"iat": nil}}) }},
		{"jti missing", func() string { return k.proof("POST", m.Token, "", proofOpts{claims: map[string]any{"jti": nil}}) }},
		{"typ JWT", func() string { return k.proof("POST", m.Token, "", proofOpts{typ: "JWT"}) }},
		{"private key in jwk", func() string {
			return k.proof("POST", m.Token, "", proofOpts{jwk: jose.JSONWebKey{Key: ecPriv}})
		}},
		{"signed by another key", func() string { return k.proof("POST", m.Token, "", proofOpts{signWith: other}) }},
		{"ath at the token endpoint", func() string { return k.proof("POST", m.Token, "some-token", proofOpts{}) }},
		{"alg HS256", func() string {
			s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")},
				(&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", jose.JSONWebKey{Key: ecPriv.Public()}))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := json.Marshal(map[string]any{"jti": randomID(), "htm": "POST", "htu": m.Token, "iat": now})
			o, _ := s.Sign(b)
			c, _ := o.CompactSerialize()
			return c
		}},
		{"alg none", func() string {
			h := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"dpop+jwt"}`))
			b, _ := json.Marshal(map[string]any{"jti": randomID(), "htm": "POST", "htu": m.Token, "iat": now})
			return h + "." + base64.RawURLEncoding.EncodeToString(b) + "."
		}},
		{"not a JWT", func() string { return "garbage" }},
	}
	for _, c := range cases {
		res := dpopPost(t, m.Token, ccForm(), id, secret, c.proof())
		wantErr(t, c.name, res, 400, "invalid_dpop_proof")
		if res.str("access_token") != "" {
			t.Errorf("%s: a token was issued", c.name)
		}
	}
	// Two DPoP headers, each valid alone.
	res := dpopPost(t, m.Token, ccForm(), id, secret, k.proof("POST", m.Token, "", proofOpts{}), k.proof("POST", m.Token, "", proofOpts{}))
	wantErr(t, "two DPoP headers", res, 400, "invalid_dpop_proof")
	// htu is compared without query and fragment and after normalisation.
	for _, htu := range []string{m.Token + "?x=1#f", strings.Replace(m.Token, "http://", "HTTP://", 1)} {
		if res := dpopPost(t, m.Token, ccForm(), id, secret, k.proof("POST", htu, "", proofOpts{})); res.Status != 200 {
			t.Errorf("htu %q: %d %s", htu, res.Status, res.Raw)
		}
	}
}

func testDPoPCodeFlow(t *testing.T, d *deployment, m opMeta) {
	r := d.rp(t, "default", "--public")
	id := r.conf.ClientID
	k := newDPoPKey(t, jose.ES256)
	g := r.code(adaEmail, adaPW)
	tok := dpopPost(t, m.Token, r.exchangeForm(g.code, g.verifier), id, "", k.proof("POST", m.Token, "", proofOpts{}))
	at, rt := tok.str("access_token"), tok.str("refresh_token")
	if tok.Status != 200 || tok.str("token_type") != "DPoP" || at == "" || rt == "" || cnfOf(t, at) != k.jkt() {
		t.Fatalf("code exchange with a proof: %d %s", tok.Status, tok.Raw)
	}

	// Userinfo: the DPoP scheme with a proof carrying ath.
	ui := dpopGet(t, m.UserInfo, "DPoP", at, k.proof("GET", m.UserInfo, at, proofOpts{}))
	if ui.Status != 200 || ui.str("sub") == "" {
		t.Fatalf("userinfo with DPoP: %d %s", ui.Status, ui.Raw)
	}
	// RFC 9449 7.1 / 11.1: the bound token as Bearer is refused, with a DPoP challenge.
	bearer := dpopGet(t, m.UserInfo, "Bearer", at, "")
	if bearer.Status != 401 || !strings.HasPrefix(bearer.Header.Get("WWW-Authenticate"), "DPoP ") || bearer.str("sub") != "" {
		t.Errorf("bound token as Bearer: %d %q %s", bearer.Status, bearer.Header.Get("WWW-Authenticate"), bearer.Raw)
	}
	other := newDPoPKey(t, jose.ES256)
	for name, proof := range map[string]string{
		"no proof":               "",
		"ath of another token":   k.proof("GET", m.UserInfo, at+"x", proofOpts{}),
		"no ath":                 k.proof("GET", m.UserInfo, "", proofOpts{}),
		"proof by another key":   other.proof("GET", m.UserInfo, at, proofOpts{}),
		"htm POST":               k.proof("POST", m.UserInfo, at, proofOpts{}),
		"htu the token endpoint": k.proof("GET", m.Token, at, proofOpts{}),
	} {
		res := dpopGet(t, m.UserInfo, "DPoP", at, proof)
		if res.Status != 401 || res.str("sub") != "" || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "DPoP ") {
			t.Errorf("userinfo, %s: %d %q %s", name, res.Status, res.Header.Get("WWW-Authenticate"), res.Raw)
		}
	}
	// The userinfo proof replayed.
	p := k.proof("GET", m.UserInfo, at, proofOpts{})
	if res := dpopGet(t, m.UserInfo, "DPoP", at, p); res.Status != 200 {
		t.Fatalf("userinfo: %d %s", res.Status, res.Raw)
	}
	if res := dpopGet(t, m.UserInfo, "DPoP", at, p); res.Status != 401 {
		t.Errorf("userinfo proof replayed: %d %s", res.Status, res.Raw)
	}

	// The public client's refresh token is bound: only a proof by k refreshes it.
	wantErr(t, "refresh without a proof", dpopPost(t, m.Token, refreshForm(rt), id, ""), 400, "invalid_dpop_proof")
	wantErr(t, "refresh with another key", dpopPost(t, m.Token, refreshForm(rt), id, "", other.proof("POST", m.Token, "", proofOpts{})),
		400, "invalid_dpop_proof")
	ref := dpopPost(t, m.Token, refreshForm(rt), id, "", k.proof("POST", m.Token, "", proofOpts{}))
	if ref.Status != 200 || ref.str("token_type") != "DPoP" || cnfOf(t, ref.str("access_token")) != k.jkt() || ref.str("refresh_token") == "" {
		t.Fatalf("refresh with the key's proof: %d %s", ref.Status, ref.Raw)
	}
	// The rotated token keeps the binding.
	wantErr(t, "rotated refresh with another key", dpopPost(t, m.Token, refreshForm(ref.str("refresh_token")), id, "",
		other.proof("POST", m.Token, "", proofOpts{})), 400, "invalid_dpop_proof")
}

func testDPoPMandatoryNonce(t *testing.T, d *deployment, m opMeta) {
	id, secret := registered(t, d.env, "default", "--name", "DPoP strict", "--grant", "client_credentials")
	api := d.platform(t)
	var c map[string]any
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+id, map[string]any{"dpop_bound_access_tokens": true}).json(t, &c)
	if c["dpop_bound_access_tokens"] != true {
		t.Fatalf("client after PATCH: %v", c)
	}
	k := newDPoPKey(t, jose.ES256)
	wantErr(t, "mandatory DPoP without a proof", dpopPost(t, m.Token, ccForm(), id, secret), 400, "invalid_dpop_proof")
	if res := dpopPost(t, m.Token, ccForm(), id, secret, k.proof("POST", m.Token, "", proofOpts{})); res.Status != 200 || res.str("token_type") != "DPoP" {
		t.Fatalf("mandatory DPoP with a proof: %d %s", res.Status, res.Raw)
	}

	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+id, map[string]any{"dpop_nonce_required": true})
	first := dpopPost(t, m.Token, ccForm(), id, secret, k.proof("POST", m.Token, "", proofOpts{}))
	wantErr(t, "proof without the required nonce", first, 400, "use_dpop_nonce")
	nonce := first.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("use_dpop_nonce without a DPoP-Nonce header")
	}
	wantErr(t, "forged nonce", dpopPost(t, m.Token, ccForm(), id, secret,
		k.proof("POST", m.Token, "", proofOpts{claims: map[string]any{"nonce": nonce[:len(nonce)-2] + "AA"}})), 400, "use_dpop_nonce")
	res := dpopPost(t, m.Token, ccForm(), id, secret, k.proof("POST", m.Token, "", proofOpts{claims: map[string]any{"nonce": nonce}}))
	if res.Status != 200 || res.str("token_type") != "DPoP" || cnfOf(t, res.str("access_token")) != k.jkt() {
		t.Fatalf("proof with the server's nonce: %d %s", res.Status, res.Raw)
	}

	// The code flow: the use_dpop_nonce answer leaves the code unspent, so
	// the retry with the nonce gets the tokens.
	r := d.rp(t, "default", "--public")
	api.must(200, "PATCH", "/api/v1/tenants/default/clients/"+r.conf.ClientID, map[string]any{"dpop_nonce_required": true})
	g := r.code(adaEmail, adaPW)
	first = dpopPost(t, m.Token, r.exchangeForm(g.code, g.verifier), r.conf.ClientID, "", k.proof("POST", m.Token, "", proofOpts{}))
	wantErr(t, "code exchange without the required nonce", first, 400, "use_dpop_nonce")
	retry := dpopPost(t, m.Token, r.exchangeForm(g.code, g.verifier), r.conf.ClientID, "",
		k.proof("POST", m.Token, "", proofOpts{claims: map[string]any{"nonce": first.Header.Get("DPoP-Nonce")}}))
	if retry.Status != 200 || retry.str("token_type") != "DPoP" || retry.str("refresh_token") == "" {
		t.Fatalf("code exchange retried with the nonce: %d %s", retry.Status, retry.Raw)
	}
}

// TestDPoPReplayAcrossNodes: a proof accepted by one node is refused by the
// other (RFC 9449 11.1), the jti remembered in the shared PostgreSQL
// (table replay_keys).
func TestDPoPReplayAcrossNodes(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	testDPoPReplayAcrossNodes(t)
}

// TestDPoPReplayAcrossNodesRedis: the same with redis_url set, the jti
// remembered in Redis (the key is there afterwards).
func TestDPoPReplayAcrossNodesRedis(t *testing.T) {
	if os.Getenv("GATEHOUSE_TEST_POSTGRES_DSN") == "" {
		t.Skip("GATEHOUSE_TEST_POSTGRES_DSN not set")
	}
	url := redistest.Start(t)
	testDPoPReplayAcrossNodes(t, "GATEHOUSE_REDIS_URL="+url)
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opt)
	defer c.Close()
	keys, err := c.Keys(context.Background(), "gatehouse:replay:*:dpop:*").Result()
	if err != nil || len(keys) != 2 {
		t.Fatalf("DPoP jtis in Redis: %v (%v), want the two proofs'", keys, err)
	}
}

func testDPoPReplayAcrossNodes(t *testing.T, extra ...string) {
	p, _, _, envA, _ := twoNodes(t, sqltest.PostgresDSN(t), extra...)
	id, secret := registered(t, envA, "default", "--name", "DPoP roaming", "--grant", "client_credentials")
	m := (&deployment{base: p.URL}).discover(t, "default")
	k := newDPoPKey(t, jose.ES256)
	proof := k.proof("POST", m.Token, "", proofOpts{})
	p.pin(0)
	if res := dpopPost(t, m.Token, ccForm(), id, secret, proof); res.Status != 200 || res.str("token_type") != "DPoP" {
		t.Fatalf("node A: %d %s", res.Status, res.Raw)
	}
	p.pin(1)
	wantErr(t, "proof replayed on node B", dpopPost(t, m.Token, ccForm(), id, secret, proof), 400, "invalid_dpop_proof")
	p.pin(0)
	wantErr(t, "proof replayed on node A", dpopPost(t, m.Token, ccForm(), id, secret, proof), 400, "invalid_dpop_proof")
	// A fresh proof is still fine on node B.
	p.pin(1)
	if res := dpopPost(t, m.Token, ccForm(), id, secret, k.proof("POST", m.Token, "", proofOpts{})); res.Status != 200 {
		t.Errorf("node B, fresh proof: %d %s", res.Status, res.Raw)
	}
	p.pin(-1)
}
