package profileschema

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

func fieldsOf(err error) []string {
	var ve *valid.Error
	if !errors.As(err, &ve) {
		return nil
	}
	var out []string
	for _, f := range ve.Fields {
		out = append(out, f.Field)
	}
	return out
}

func TestValidateNamesTheField(t *testing.T) {
	for _, tc := range []struct {
		doc, want string
	}{
		{`{"fields":[{"name":"a","type":"string","label":{"en":"A"}},{"name":"b","type":"string","label":{"en":"B"}},{"name":"c","type":"colour","label":{"en":"C"}}]}`, "fields[2].type"},
		{`{"fields":[{"name":"tier","type":"enum","label":{"en":"T"}}]}`, "fields[0].enum"},
		{`{"fields":[{"name":"a","type":"string","label":{"de":"A"}}]}`, "fields[0].label.en"},
		{`{"fields":[{"name":"a","type":"string","label":{"en":"A"},"required_at":"login:0"}]}`, "fields[0].required_at"},
		{`{"fields":[{"name":"a","type":"string","label":{"en":"A"},"required_at":"sometimes"}]}`, "fields[0].required_at"},
		{`{"fields":[{"name":"a","type":"string","label":{"en":"A"}},{"name":"a","type":"bool","label":{"en":"A"}}]}`, "fields[1].name"},
		{`{"fields":[{"name":"Bad Name","type":"string","label":{"en":"A"}}]}`, "fields[0].name"},
		{`{"fields":[{"name":"scim","type":"string","label":{"en":"A"}}]}`, "fields[0].name"},
		{`{"fields":[{"name":"a","type":"string","label":{"en":"A"},"max_length":5000}]}`, "fields[0].max_length"},
		{`{"fields":[{"name":"a","type":"enum","enum":["x","x"],"label":{"en":"A"}}]}`, "fields[0].enum[1]"},
		{`{"fields":[{"name":"a","type":"string","label":{"en":"A"},"autocomplete":"<x>"}]}`, "fields[0].autocomplete"},
	} {
		var s Schema
		if err := json.Unmarshal([]byte(tc.doc), &s); err != nil {
			t.Fatal(err)
		}
		got := fieldsOf(s.Validate())
		if len(got) == 0 || got[0] != tc.want {
			t.Errorf("%s: fields %v, want %s", tc.doc, got, tc.want)
		}
	}
	good := Schema{Fields: []Field{{Name: "company", Type: TypeString, Label: map[string]string{"en": "Company", "de": "Firma"},
		RequiredAt: "login:2", Autocomplete: "organization"}, {Name: "tier", Type: TypeEnum, Enum: []string{"a", "b"},
		Label: map[string]string{"en": "Tier"}, RequiredAt: "scope:tier"}}}
	if err := good.Validate(); err != nil {
		t.Fatalf("good schema: %v", err)
	}
}

func TestCheckValues(t *testing.T) {
	s := Schema{Fields: []Field{
		{Name: "tier", Type: TypeEnum, Enum: []string{"gold", "silver"}},
		{Name: "born", Type: TypeDate}, {Name: "ok", Type: TypeBool}, {Name: "mail", Type: TypeEmail},
		{Name: "tel", Type: TypePhone}, {Name: "short", Type: TypeString, MaxLength: 3},
	}}
	bad := map[string]any{"tier": "bronze", "born": "07/12/2026", "ok": "yes", "mail": "nope", "tel": "call me", "short": "abcd", "free": 7}
	var c valid.Collector
	s.CheckAttributes(&c, "attributes", bad, nil)
	got := fieldsOf(c.Err())
	want := []string{"attributes.born", "attributes.mail", "attributes.ok", "attributes.short", "attributes.tel", "attributes.tier"}
	if len(got) != len(want) {
		t.Fatalf("errors on %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("errors on %v, want %v", got, want)
		}
	}
	fine := map[string]any{"tier": "gold", "born": "1990-02-03", "ok": false, "mail": "a@example.com", "tel": "+49 30 1234567", "short": "abc", "free": 7}
	var c2 valid.Collector
	s.CheckAttributes(&c2, "attributes", fine, nil)
	if err := c2.Err(); err != nil {
		t.Fatalf("fine values: %v", err)
	}
}

func TestDue(t *testing.T) {
	s := Schema{Fields: []Field{
		{Name: "company", Type: TypeString, RequiredAt: "login:2"},
		{Name: "country", Type: TypeString, RequiredAt: "signup"},
		{Name: "tier", Type: TypeEnum, Enum: []string{"a"}, RequiredAt: "client:shop"},
		{Name: "news", Type: TypeBool, RequiredAt: "scope:news"},
	}}
	names := func(ps []Prompt) (out []string) {
		for _, p := range ps {
			n := p.Field.Name
			if p.Mandatory {
				n += "!"
			}
			out = append(out, n)
		}
		return out
	}
	eq := func(got []string, want ...string) bool {
		if len(got) != len(want) {
			return false
		}
		for i := range got {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if got := names(s.Due(Situation{SignIns: 1})); !eq(got, "country!") {
		t.Fatalf("first sign-in: %v", got)
	}
	attrs := map[string]any{"country": "DE"}
	if got := names(s.Due(Situation{SignIns: 1, Attrs: attrs})); !eq(got) {
		t.Fatalf("first sign-in, country given: %v", got)
	}
	if got := names(s.Due(Situation{SignIns: 2, Attrs: attrs})); !eq(got, "company") {
		t.Fatalf("second sign-in: %v", got)
	}
	skipped := map[string]Skip{"company": {N: 1, At: 2}}
	if got := names(s.Due(Situation{SignIns: 2, Attrs: attrs, Skips: skipped})); !eq(got) {
		t.Fatalf("second sign-in after a skip: %v", got)
	}
	if got := names(s.Due(Situation{SignIns: 3, Attrs: attrs, Skips: skipped})); !eq(got, "company!") {
		t.Fatalf("third sign-in after a skip: %v", got)
	}
	if got := names(s.Due(Situation{SignIns: 1, Attrs: attrs, ClientID: "shop", Scopes: []string{"openid", "news"}})); !eq(got, "tier!", "news!") {
		t.Fatalf("client and scope: %v", got)
	}
	attrs["news"] = false
	if got := names(s.Due(Situation{SignIns: 1, Attrs: attrs, Scopes: []string{"news"}})); !eq(got) {
		t.Fatalf("false is an answer: %v", got)
	}
}
