package e2e

import (
	"encoding/base64"
	"encoding/pem"
	"encoding/xml"
	"strings"
	"testing"
	"time"

	crewjam "github.com/crewjam/saml"
)

// TestSAMLAssertionOptions: per-provider NameID formats (persistent is
// stable and pairwise, transient changes), encryption (AES-GCM, RSA-OAEP),
// signing the response only or the assertion only, registration through
// the API (bad input refused, naming the field), and key rotation, which
// a provider holding the old metadata survives.
func TestSAMLAssertionOptions(t *testing.T) {
	n, env, api := setupOIDC(t)
	mkUser(api, map[string]any{"email": samlUser, "password": samlPassword})
	register := func(sp *crewjam.ServiceProvider, fields map[string]any) {
		t.Helper()
		certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: sp.Certificate.Raw}))
		body := map[string]any{"entity_id": sp.EntityID, "certificate": certPEM,
			"acs": []map[string]any{{"location": sp.AcsURL.String()}}}
		for k, v := range fields {
			body[k] = v
		}
		api.must(201, "POST", "/api/v1/tenants/default/saml/sps", body)
	}
	enc := newSP(t, n.URL, "default", "enc", false)
	register(enc, map[string]any{"name_id_format": "persistent", "encrypt_assertion": true, "sign_response": false})
	resp := newSP(t, n.URL, "default", "resp", false)
	register(resp, map[string]any{"name_id_format": "persistent", "sign_assertion": false})
	tr := newSP(t, n.URL, "default", "transient", false)
	register(tr, map[string]any{"name_id_format": "transient"})

	c := samlBrowser(nil)
	login := func(sp *crewjam.ServiceProvider) (*crewjam.Assertion, string) {
		t.Helper()
		req, _ := sp.MakeAuthenticationRequest(sp.GetSSOBindingLocation(crewjam.HTTPRedirectBinding), crewjam.HTTPRedirectBinding, crewjam.HTTPPostBinding)
		u, _ := req.Redirect("", sp)
		a := visit(t, c, getReq(t, u.String()), samlUser, samlPassword)
		as, err := acs(t, sp, a, req.ID)
		if err != nil {
			t.Fatalf("%s: ParseResponse: %v", sp.EntityID, err)
		}
		raw, _ := base64.StdEncoding.DecodeString(a.fields.Get("SAMLResponse"))
		return as, string(raw)
	}
	as1, raw1 := login(enc)
	if !strings.Contains(raw1, "EncryptedAssertion") || strings.Contains(raw1, samlUser) {
		t.Error("assertion for the encrypting provider is not encrypted")
	}
	if !strings.Contains(raw1, "xmlenc11#aes256-gcm") || !strings.Contains(raw1, "rsa-oaep") {
		t.Errorf("encryption is not AES-256-GCM with RSA-OAEP")
	}
	if sig := strings.Index(raw1, "<ds:Signature"); sig >= 0 && sig < strings.Index(raw1, "EncryptedAssertion") {
		t.Error("response signed although sign_response is false")
	}
	as1b, _ := login(enc)
	as2, raw2 := login(resp)
	if as1.Subject.NameID.Format != string(crewjam.PersistentNameIDFormat) || as1.Subject.NameID.Value != as1b.Subject.NameID.Value {
		t.Errorf("persistent NameID not stable: %+v vs %+v", as1.Subject.NameID, as1b.Subject.NameID)
	}
	if as1.Subject.NameID.Value == as2.Subject.NameID.Value || strings.Contains(as1.Subject.NameID.Value, "@") {
		t.Error("persistent NameIDs are not pairwise per provider")
	}
	if as2.Signature != nil || !strings.Contains(raw2[:strings.Index(raw2, "<saml:Assertion")], "<ds:Signature") {
		t.Error("sign_assertion false: want only the response signed")
	}
	t1, _ := login(tr)
	t2, _ := login(tr)
	if t1.Subject.NameID.Format != string(crewjam.TransientNameIDFormat) || t1.Subject.NameID.Value == t2.Subject.NameID.Value {
		t.Errorf("transient NameIDs %q %q", t1.Subject.NameID.Value, t2.Subject.NameID.Value)
	}
	// Audience and recipient are the provider's; validity is short.
	if as2.Conditions == nil || as2.Conditions.AudienceRestrictions[0].Audience.Value != resp.EntityID ||
		as2.Conditions.NotOnOrAfter.Sub(as2.Conditions.NotBefore) > 10*60*1e9 {
		t.Errorf("conditions %+v", as2.Conditions)
	}

	t.Run("RegistrationRefusals", func(t *testing.T) {
		bad := map[string]map[string]any{
			"entity_id":         {"acs": []map[string]any{{"location": "https://x.example/acs"}}},
			"acs":               {"entity_id": "https://x.example", "acs": []map[string]any{{"location": "javascript:alert(1)"}}},
			"name_id_format":    {"entity_id": "https://x.example", "acs": []map[string]any{{"location": "https://x.example/acs"}}, "name_id_format": "x"},
			"certificate":       {"entity_id": "https://x.example", "acs": []map[string]any{{"location": "https://x.example/acs"}}, "encrypt_assertion": true},
			"attribute_mapping": {"entity_id": "https://x.example", "acs": []map[string]any{{"location": "https://x.example/acs"}}, "attribute_mapping": map[string]string{"a": "password_hash"}},
			"metadata":          {"metadata": `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><EntityDescriptor>&e;</EntityDescriptor>`},
		}
		for field, body := range bad {
			r := api.must(400, "POST", "/api/v1/tenants/default/saml/sps", body)
			if !strings.Contains(string(r.Body), `"`+field+`"`) {
				t.Errorf("%s: problem does not name the field: %s", field, r.Body)
			}
		}
		r := api.must(409, "POST", "/api/v1/tenants/default/saml/sps", map[string]any{"entity_id": enc.EntityID,
			"acs": []map[string]any{{"location": "https://x.example/acs"}}})
		if !strings.Contains(string(r.Body), "entity_id") {
			t.Errorf("conflict does not name entity_id: %s", r.Body)
		}
	})

	t.Run("KeyRotation", func(t *testing.T) {
		before := newSP(t, n.URL, "default", "rot", false) // holds the metadata of before the rotation
		register(before, nil)
		if _, errOut, code := cli(t, env, "keys", "rotate", "--tenant", "default"); code != 0 {
			t.Fatalf("keys rotate: %s", errOut)
		}
		// Nodes cache keys for 5 s; within that the old set is served.
		certs := map[string]bool{}
		for deadline := time.Now().Add(10 * time.Second); len(certs) != 3 && time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			res := visit(t, samlBrowser(nil), getReq(t, n.URL+"/t/default/saml/metadata"), "", "")
			var md crewjam.EntityDescriptor
			if err := xml.Unmarshal([]byte(res.body), &md); err != nil {
				t.Fatal(err)
			}
			certs = map[string]bool{}
			for _, k := range md.IDPSSODescriptors[0].KeyDescriptors {
				for _, x := range k.KeyInfo.X509Data.X509Certificates {
					certs[x.Data] = true
				}
			}
		}
		if len(certs) != 3 {
			t.Errorf("after rotation %d certificates published; want new active, next and the retiring one", len(certs))
		}
		login(before) // signed with the key that was "next" before: already trusted
	})
}
