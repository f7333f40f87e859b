package tenancy

import "testing"

// TestLDAPUserBindsDefault: tenants stored before the LDAP setting existed,
// and new ones, allow user binds; an explicit false is kept.
func TestLDAPUserBindsDefault(t *testing.T) {
	for raw, want := range map[string]bool{
		``:                                      true,
		`{"password_policy":{"min_length":12}}`: true,
		`{"ldap":{}}`:                           true,
		`{"ldap":{"user_binds":false}}`:         false,
		`{"ldap":{"user_binds":true}}`:          true,
	} {
		s, err := ParseSettings([]byte(raw))
		if err != nil {
			t.Fatalf("ParseSettings(%s): %v", raw, err)
		}
		if s.LDAP.UserBinds != want {
			t.Errorf("ParseSettings(%s).LDAP.UserBinds = %v, want %v", raw, s.LDAP.UserBinds, want)
		}
	}
	if !DefaultSettings().LDAP.UserBinds {
		t.Error("new tenants forbid LDAP user binds")
	}
}
