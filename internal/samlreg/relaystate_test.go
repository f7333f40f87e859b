package samlreg_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// TestDefaultRelayState: the IdP-initiated RelayState is an absolute https
// URL or a relative path; anything a browser could read as another origin
// or a script is refused on create and on update, and changes nothing.
func TestDefaultRelayState(t *testing.T) {
	svc, _, tn := setup(t)
	acs := []store.SAMLEndpoint{{Location: "https://sp.example/acs"}}
	for _, bad := range []string{"http://sp.example/home", "javascript:alert(1)", "//evil.example/x", "/\\evil.example",
		"https://u:p@sp.example/", "https:///nohost", "/home#frag", "/a\nb", "data:text/html,x", "https://" + strings.Repeat("a", 1100)} {
		_, err := svc.Create(t.Context(), admin, tn, samlreg.NewSP{EntityID: "e-" + bad, ACS: acs, DefaultRelayState: bad})
		var verr *valid.Error
		if !errors.As(err, &verr) || !slices.ContainsFunc(verr.Fields, func(f valid.FieldError) bool { return f.Field == "default_relay_state" }) {
			t.Errorf("create with default_relay_state %q: %v", bad, err)
		}
	}
	sp, err := svc.Create(t.Context(), admin, tn, samlreg.NewSP{EntityID: "https://sp.example", ACS: acs, DefaultRelayState: "/apps/home?x=1"})
	if err != nil {
		t.Fatal(err)
	}
	if sp.DefaultRelayState != "/apps/home?x=1" {
		t.Fatalf("default_relay_state = %q", sp.DefaultRelayState)
	}
	for _, good := range []string{"https://sp.example/start", "dashboard/home", ""} {
		up, err := svc.Update(t.Context(), admin, tn, sp.ID, 0, samlreg.Patch{DefaultRelayState: &good})
		if err != nil || up.DefaultRelayState != good {
			t.Fatalf("update to %q: %v %+v", good, err, up)
		}
	}
	evil := "https://evil.example@/x"
	if _, err := svc.Update(t.Context(), admin, tn, sp.ID, 0, samlreg.Patch{DefaultRelayState: &evil}); err == nil {
		t.Errorf("update to %q accepted", evil)
	}
	got, _ := svc.Get(t.Context(), tn, sp.ID)
	if got.DefaultRelayState != "" {
		t.Errorf("refused update changed default_relay_state to %q", got.DefaultRelayState)
	}
}
