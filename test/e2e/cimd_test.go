package e2e

import (
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// metadataServer serves client ID metadata documents over TLS on
// loopback: path -> (content type, body); it counts fetches per path.
type metadataServer struct {
	srv     *httptest.Server
	docs    map[string][2]string
	fetches map[string]*atomic.Int32
}

func newMetadataServer(t *testing.T) *metadataServer {
	m := &metadataServer{docs: map[string][2]string{}, fetches: map[string]*atomic.Int32{}}
	m.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d, ok := m.docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		m.fetches[r.URL.Path].Add(1)
		w.Header().Set("Content-Type", d[0])
		_, _ = w.Write([]byte(d[1]))
	}))
	t.Cleanup(m.srv.Close)
	return m
}

// doc publishes a document at path; fields set over a valid one whose
// client_id is its URL (nil deletes).
func (m *metadataServer) doc(t *testing.T, path, redirect string, fields map[string]any) string {
	u := m.srv.URL + path
	d := map[string]any{"client_id": u, "client_name": "MCP Client", "redirect_uris": []string{redirect},
		"grant_types": []string{"authorization_code"}, "token_endpoint_auth_method": "none"}
	for k, v := range fields {
		if v == nil {
			delete(d, k)
		} else {
			d[k] = v
		}
	}
	b, _ := json.Marshal(d)
	m.docs[path] = [2]string{"application/json", string(b)}
	m.fetches[path] = &atomic.Int32{}
	return u
}

// caFile writes the TLS server's certificate where the server process
// reads its trusted roots (SSL_CERT_FILE).
func (m *metadataServer) caFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "ca.pem")
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: m.srv.Certificate().Raw})
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// deployTrusting is deploy with the process trusting caFile.
func deployTrusting(t *testing.T, b backend, caFile string) *deployment {
	t.Helper()
	dataDir := t.TempDir()
	env := append(testEnv(dataDir, b.db, testMasterKey), "SSL_CERT_FILE="+caFile)
	n := start(t, env)
	out, errOut, code := cli(t, env, "apikey", "create", "--platform", "--scopes", "admin")
	if code != 0 {
		t.Fatalf("apikey create --platform: %s", errOut)
	}
	return &deployment{b: b, dataDir: dataDir, env: env, n: n, base: n.URL, platformKey: lastLine(out)}
}

// TestClientIDMetadataDocument: a client whose client_id is an https URL
// (a TLS server on loopback; the safe dialer admits loopback only on a
// development deployment, as these are) signs a user in without
// registration once the tenant allows it, with x/oauth2 and go-oidc; the
// document is fetched once and cached; hostile documents are refused.
func TestClientIDMetadataDocument(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ms := newMetadataServer(t)
			d := deployTrusting(t, b, ms.caFile(t))
			d.user(t, "default", adaEmail, adaPW)
			api := d.platform(t)
			redirect := freeRedirect(t, "/cb")
			id := ms.doc(t, "/oauth/client.json", redirect, nil)

			r := rpFor(t, d.base, "default", id, "", redirect)
			authorizeRefused := func(what, clientID string) {
				t.Helper()
				u := strings.Replace(r.conf.AuthCodeURL("st"), "client_id="+urlQuery(id), "client_id="+urlQuery(clientID), 1)
				res, err := r.browser.Get(u + "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256")
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != 400 || strings.HasPrefix(res.Header.Get("Location"), redirect) {
					t.Errorf("%s: %d %q, want an error page", what, res.StatusCode, res.Header.Get("Location"))
				}
			}
			// Off by default: an unknown client, and nothing fetched.
			authorizeRefused("metadata documents off", id)
			if n := ms.fetches["/oauth/client.json"].Load(); n != 0 {
				t.Errorf("fetched %d times while off", n)
			}
			if disc := get(t, nil, d.base+"/t/default/.well-known/openid-configuration"); disc.Body["client_id_metadata_document_supported"] != nil {
				t.Errorf("advertised while off")
			}

			api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
				"oauth": map[string]any{"client_id_metadata_documents": true}}})
			if disc := get(t, nil, d.base+"/t/default/.well-known/openid-configuration"); disc.Body["client_id_metadata_document_supported"] != true {
				t.Errorf("not advertised while on: %s", disc.Raw)
			}
			tok, idt := r.consentedTokens(adaEmail, adaPW)
			if idt.Audience[0] != id || tok.AccessToken == "" {
				t.Fatalf("metadata document client: aud %v", idt.Audience)
			}
			// A second sign-in uses the cached document.
			r.consentedTokens(adaEmail, adaPW)
			if n := ms.fetches["/oauth/client.json"].Load(); n != 1 {
				t.Errorf("document fetched %d times, want 1 (cached)", n)
			}

			// Hostile documents and URLs.
			big := strings.Repeat("x", 6<<10)
			for name, c := range map[string]map[string]any{
				"client_id of another URL": {"client_id": ms.srv.URL + "/other.json"},
				"a client secret":          {"client_secret": "s3cret"},
				"a secret auth method":     {"token_endpoint_auth_method": "client_secret_basic"},
				"client_credentials":       {"grant_types": []string{"client_credentials"}},
				"http redirect":            {"redirect_uris": []string{"http://evil.example/cb"}},
				"too large":                {"client_name": big},
			} {
				path := "/bad/" + strings.ReplaceAll(name, " ", "-") + ".json"
				authorizeRefused(name, ms.doc(t, path, redirect, c))
			}
			ms.docs["/bad/html.json"] = [2]string{"text/html", ms.docs["/oauth/client.json"][1]}
			ms.fetches["/bad/html.json"] = &atomic.Int32{}
			authorizeRefused("not application/json", ms.srv.URL+"/bad/html.json")
			authorizeRefused("missing document", ms.srv.URL+"/nothing.json")
			authorizeRefused("no path", ms.srv.URL+"/")
			authorizeRefused("dot segment", ms.srv.URL+"/oauth/../oauth/client.json")
		})
	}
}

func urlQuery(s string) string {
	r := strings.NewReplacer(":", "%3A", "/", "%2F")
	return r.Replace(s)
}
