package provision

import (
	"encoding/json"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

func TestCheckMapping(t *testing.T) {
	for _, c := range []struct {
		m  map[string]string
		ok bool
	}{
		{map[string]string{"title": "attributes.title", "name.formatted": "display_name", "userName": "username"}, true},
		{map[string]string{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "attributes.dept"}, true},
		{map[string]string{"locale": ""}, true},
		{map[string]string{"active": "email"}, false},
		{map[string]string{"password": "email"}, false},
		{map[string]string{"groups": "email"}, false},
		{map[string]string{"title": "password_hash"}, false},
		{map[string]string{"a.b.c": "email"}, false},
		{map[string]string{"ti tle": "email"}, false},
		{map[string]string{"title": "attributes."}, false},
	} {
		var col valid.Collector
		checkMapping(&col, c.m)
		if (col.Err() == nil) != c.ok {
			t.Errorf("checkMapping(%v) = %v, want ok=%v", c.m, col.Err(), c.ok)
		}
	}
}

func TestUserDoc(t *testing.T) {
	u := &store.User{ID: "u1", Email: "Ada@Example.com", GivenName: "Ada", FamilyName: "Lovelace",
		Attributes: json.RawMessage(`{"dept":"R&D","level":3}`)}
	m := effective(map[string]string{"locale": "", "userName": "username", "displayName": "display_name",
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "attributes.dept", "title": "attributes.level"})
	doc := userDoc(u, m, false)
	raw, _ := json.Marshal(doc)
	want := `{"active":false,"displayName":"Ada Lovelace","emails":[{"primary":true,"type":"work","value":"Ada@Example.com"}],` +
		`"externalId":"u1","name":{"familyName":"Lovelace","givenName":"Ada"},` +
		`"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],` +
		`"title":3,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"R\u0026D"}}`
	if string(raw) != want {
		t.Fatalf("userDoc =\n%s\nwant\n%s", raw, want)
	}
	if _, ok := doc["userName"]; ok {
		t.Error("userName mapped to an empty username was sent")
	}
}

func TestQuote(t *testing.T) {
	if got := Quote(`a"b\c`); got != `"a\"b\\c"` {
		t.Fatalf("Quote = %s", got)
	}
}
