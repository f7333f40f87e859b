package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

const goodRequest = `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="id-1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>https://sp.example</saml:Issuer></samlp:AuthnRequest>`

func deflate(t testing.TB, s string) string {
	var b bytes.Buffer
	w, _ := flate.NewWriter(&b, flate.BestCompression)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return base64.StdEncoding.EncodeToString(b.Bytes())
}

func post(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

const sigOf = `<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo><ds:Reference URI="#%s"></ds:Reference></ds:SignedInfo></ds:Signature>`

func signed(id, ref, inner string) string {
	return `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="` + id +
		`" Version="2.0"><saml:Issuer>https://sp.example</saml:Issuer>` + strings.Replace(sigOf, "%s", ref, 1) + inner + `</samlp:AuthnRequest>`
}

func TestParseMessages(t *testing.T) {
	if m, err := ParseRedirect(deflate(t, goodRequest), "rs"); err != nil || m.RelayState != "rs" || !m.Redirect {
		t.Fatalf("ParseRedirect(good) = %v, %v", m, err)
	}
	if _, err := ParsePost(post(goodRequest), ""); err != nil {
		t.Fatalf("ParsePost(good) = %v", err)
	}
	if _, err := ParsePost(post(signed("id-1", "id-1", "")), ""); err != nil {
		t.Fatalf("ParsePost(signed) = %v", err)
	}
	bomb := goodRequest[:len(goodRequest)-len("</samlp:AuthnRequest>")] + "<x>" + strings.Repeat(" ", 20<<20) + "</x></samlp:AuthnRequest>"
	wrapped := `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="evil" Version="2.0"><samlp:Extensions>` +
		signed("id-1", "id-1", "") + `</samlp:Extensions></samlp:AuthnRequest>`
	refused := map[string]func() (*Message, error){
		"deflate bomb": func() (*Message, error) { return ParseRedirect(deflate(t, bomb), "") },
		"oversized":    func() (*Message, error) { return ParsePost(post(strings.Repeat("A", 100<<10)), "") },
		"not base64":   func() (*Message, error) { return ParsePost("%%%", "") },
		"not deflate":  func() (*Message, error) { return ParseRedirect(post(goodRequest), "") },
		"long relay":   func() (*Message, error) { return ParsePost(post(goodRequest), strings.Repeat("r", 2000)) },
		"DTD": func() (*Message, error) {
			return ParsePost(post(`<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>`+goodRequest), "")
		},
		"entity expansion": func() (*Message, error) {
			return ParsePost(post(`<!DOCTYPE r [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>`+strings.Replace(goodRequest, "https://sp.example", "&b;", 1)), "")
		},
		"wrong root": func() (*Message, error) {
			return ParsePost(post(`<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="a"/>`), "")
		},
		"wrong ns": func() (*Message, error) { return ParsePost(post(`<AuthnRequest xmlns="urn:evil" ID="a"/>`), "") },
		"no ID": func() (*Message, error) {
			return ParsePost(post(`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>`), "")
		},
		"wrapped":       func() (*Message, error) { return ParsePost(post(wrapped), "") },
		"ref elsewhere": func() (*Message, error) { return ParsePost(post(signed("evil", "id-1", "")), "") },
		"duplicate ID": func() (*Message, error) {
			return ParsePost(post(signed("id-1", "id-1", `<samlp:Extensions><x ID="id-1"/></samlp:Extensions>`)), "")
		},
		"two signatures": func() (*Message, error) {
			return ParsePost(post(signed("id-1", "id-1", strings.Replace(sigOf, "%s", "id-1", 1))), "")
		},
		"deep signature": func() (*Message, error) {
			return ParsePost(post(signed("id-1", "id-1", "")[:0]+`<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="id-1"><samlp:Extensions>`+strings.Replace(sigOf, "%s", "id-1", 1)+`</samlp:Extensions></samlp:AuthnRequest>`), "")
		},
	}
	for name, fn := range refused {
		if m, err := fn(); !errors.Is(err, errRefused) {
			t.Errorf("%s: %v, %v; want errRefused", name, m, err)
		}
	}
}

// FuzzParseMessage: whatever arrives, the request parser answers a
// screened message or errRefused, within its bounds, without panicking.
//
//	go test -run '^$' -fuzz FuzzParseMessage -fuzztime 5m -parallel 1 ./internal/saml/
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte(goodRequest), true)
	f.Add([]byte(goodRequest), false)
	f.Add([]byte(signed("id-1", "id-1", "")), false)
	f.Add([]byte(`<!DOCTYPE r [<!ENTITY a "a">]><r>&a;</r>`), false)
	f.Fuzz(func(t *testing.T, doc []byte, redirect bool) {
		var m *Message
		var err error
		if redirect {
			var b bytes.Buffer
			w, _ := flate.NewWriter(&b, flate.BestSpeed)
			w.Write(doc)
			w.Close()
			m, err = ParseRedirect(base64.StdEncoding.EncodeToString(b.Bytes()), "")
			// Raw fuzz bytes as the deflated stream too.
			_, _ = ParseRedirect(base64.StdEncoding.EncodeToString(doc), "")
		} else {
			m, err = ParsePost(base64.StdEncoding.EncodeToString(doc), "")
		}
		if err != nil {
			if !errors.Is(err, errRefused) {
				t.Fatalf("error not errRefused: %v", err)
			}
			return
		}
		if len(m.XML) > maxMessageXML || bytes.Contains(m.XML, []byte("<!DOCTYPE")) || bytes.Contains(m.XML, []byte("<!ENTITY")) {
			t.Fatalf("accepted a message past the rules: %q", m.XML)
		}
	})
}
