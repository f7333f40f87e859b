package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const testSPMetadata = `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://wiki.example.com/md">
<md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://wiki.example.com/acs" index="1"/>
</md:SPSSODescriptor></md:EntityDescriptor>`

// TestSAMLCommands: saml sp create from a metadata file, from a metadata
// URL (a server on 127.0.0.1) and from fields; list; delete; bad input
// exits non-zero and stores nothing.
func TestSAMLCommands(t *testing.T) {
	d := newDeployment(t, "")
	d.must("tenant", "create", "--slug", "acme", "--name", "Acme")
	f := filepath.Join(t.TempDir(), "md.xml")
	if err := os.WriteFile(f, []byte(testSPMetadata), 0o600); err != nil {
		t.Fatal(err)
	}
	create := func(args ...string) map[string]any {
		t.Helper()
		out := d.must(append([]string{"saml", "sp", "create", "--tenant", "acme", "--json"}, args...)...)
		var m map[string]any
		if err := json.Unmarshal([]byte(out), &m); err != nil {
			t.Fatalf("saml sp create %q: %v\n%s", args, err, out)
		}
		return m
	}
	fromFile := create("--metadata-file", f, "--name", "Wiki", "--attribute", "mail=email", "--sign-response=false")
	if fromFile["entity_id"] != "https://wiki.example.com/md" || fromFile["sign_response"] != false ||
		fromFile["sign_assertion"] != true || fromFile["attribute_mapping"].(map[string]any)["mail"] != "email" {
		t.Errorf("from file: %v", fromFile)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(strings.Replace(testSPMetadata, "wiki.example.com/md", "crm.example.com/md", 1)))
	}))
	defer srv.Close()
	fromURL := create("--metadata-url", srv.URL+"/md")
	if fromURL["entity_id"] != "https://crm.example.com/md" {
		t.Errorf("from URL: %v", fromURL)
	}
	fields := create("--entity-id", "https://hr.example.com", "--acs", "https://hr.example.com/acs",
		"--slo-url", "https://hr.example.com/slo", "--name-id-format", "persistent", "--consent-required")
	if fields["name_id_format"] != "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent" || fields["slo_url"] != "https://hr.example.com/slo" ||
		fields["consent_required"] != true || fromFile["consent_required"] != false {
		t.Errorf("from fields: %v", fields)
	}
	for _, bad := range [][]string{
		{"--metadata-file", f},                                   // entity ID taken
		{"--entity-id", "https://x.example"},                     // no ACS
		{"--entity-id", "https://x.example", "--acs", "ftp://x"}, // bad ACS
		{"--metadata-file", f, "--metadata-url", srv.URL},        // both
		{"--entity-id", "https://x.example", "--acs", "https://x.example/acs", "--attribute", "nomapping"},
	} {
		if _, _, code := d.run(append([]string{"saml", "sp", "create", "--tenant", "acme"}, bad...)...); code == 0 {
			t.Errorf("saml sp create %q succeeded", bad)
		}
	}
	list := d.must("saml", "sp", "list", "--tenant", "acme")
	if strings.Count(list, "example.com") != 3 {
		t.Errorf("list:\n%s", list)
	}
	d.must("saml", "sp", "delete", "--tenant", "acme", fromURL["id"].(string))
	if list := d.must("saml", "sp", "list", "--tenant", "acme"); strings.Contains(list, "crm.example.com") {
		t.Errorf("deleted provider still listed:\n%s", list)
	}
}
