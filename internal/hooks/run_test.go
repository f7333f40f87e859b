package hooks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/hookhttp"
	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/store/sqlstore/sqltest"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"github.com/gatehouse-id/gatehouse/internal/whsig"
)

var admin = events.Actor{Type: "cli", ID: "tester"}

type fixture struct {
	svc    *hooks.Service
	db     store.Store
	tenant store.TenantID
}

func setup(t *testing.T, loopback bool) fixture {
	db := sqltest.OpenSQLite(t)
	now := time.Now().UTC().Truncate(time.Microsecond)
	tn := &store.Tenant{ID: store.TenantID(uuid.Must(uuid.NewV7()).String()), Slug: "acme", Name: "Acme",
		Settings: json.RawMessage(`{}`), Version: 1, CreatedAt: now, UpdatedAt: now}
	if err := db.Tenants().CreateTenant(t.Context(), tn); err != nil {
		t.Fatal(err)
	}
	key, err := seal.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.New(key, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := &hooks.Service{Store: db, Audit: &events.Recorder{Now: time.Now}, Sealer: sealer, Now: time.Now,
		Poster: hookhttp.New(safehttp.Policy{AllowLoopback: loopback}),
		Policy: connection.URLPolicy{AllowLoopbackHTTP: true}}
	return fixture{svc: svc, db: db, tenant: tn.ID}
}

// endpoint serves fn and answers its URL.
func endpoint(t *testing.T, fn http.HandlerFunc) string {
	srv := httptest.NewServer(fn)
	t.Cleanup(srv.Close)
	return srv.URL + "/hook"
}

func reply(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func (f fixture) hook(t *testing.T, trigger, url, onFailure string, claims ...string) (*store.Hook, string) {
	t.Helper()
	h, secret, err := f.svc.Create(t.Context(), admin, f.tenant, hooks.NewHook{Trigger: trigger, URL: url,
		TimeoutMS: 300, OnFailure: onFailure, AllowedClaims: claims})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return h, secret
}

func (f fixture) failures(t *testing.T) []string {
	var out []string
	err := f.db.Audit().ScanAudit(t.Context(), f.tenant, func(e store.AuditEntry) error {
		if e.Action == "hook.failed" {
			out = append(out, string(e.Changes))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var user = &store.User{ID: "u1", Email: "ann@example.com", Attributes: json.RawMessage(`{}`)}

// TestFailuresFollowOnFailure: every way a hook can fail (status, not
// JSON, no decision, a redirect, a refused address, an answer too large)
// is audited with a reason and then allows or denies per on_failure.
func TestFailuresFollowOnFailure(t *testing.T) {
	big := `{"decision":"allow","x":"` + strings.Repeat("a", 70<<10) + `"}`
	cases := []struct {
		name     string
		handler  http.HandlerFunc
		loopback bool
		reason   string
		trigger  string // post_login when ""
	}{
		{"status 500", reply(500, `{"decision":"allow"}`), true, "answered status 500", ""},
		{"not JSON", reply(200, `<html>`), true, "not a JSON object", ""},
		{"no decision", reply(200, `{"decision":"maybe"}`), true, "neither", ""},
		{"redirect", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		}, true, "answered status 302", ""},
		{"refused address", reply(200, `{"decision":"allow"}`), false, "destination address refused", ""},
		{"too large", reply(200, big), true, "answer too large", ""},
		{"attributes not an object", reply(200, `{"decision":"allow","attributes":[1,2]}`), true, "attributes are not acceptable", store.HookPreRegistration},
	}
	for _, tc := range cases {
		for _, onFailure := range []string{store.HookFailAllow, store.HookFailDeny} {
			t.Run(tc.name+"/"+onFailure, func(t *testing.T) {
				f := setup(t, tc.loopback)
				trigger := tc.trigger
				if trigger == "" {
					trigger = store.HookPostLogin
				}
				f.hook(t, trigger, endpoint(t, tc.handler), onFailure)
				_, err := f.svc.Run(t.Context(), trigger, hooks.Call{Tenant: f.tenant, User: user})
				var d *hooks.DeniedError
				switch {
				case onFailure == store.HookFailAllow && err != nil:
					t.Errorf("allow: Run = %v", err)
				case onFailure == store.HookFailDeny && (!errors.As(err, &d) || d.Message != nil):
					t.Errorf("deny: Run = %v, want a DeniedError without a message", err)
				}
				got := f.failures(t)
				if len(got) != 1 || !strings.Contains(got[0], tc.reason) || strings.Contains(got[0], "aaaa") {
					t.Errorf("hook.failed = %v, want one naming %q", got, tc.reason)
				}
			})
		}
	}
}

// TestDeadline: a hook that does not answer is given up at its timeout:
// Run returns within the timeout plus 100 ms, audit included.
func TestDeadline(t *testing.T) {
	f := setup(t, true)
	url := endpoint(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	f.hook(t, store.HookPreToken, url, store.HookFailAllow, "plan")
	start := time.Now()
	res, err := f.svc.Run(t.Context(), store.HookPreToken, hooks.Call{Tenant: f.tenant, User: user, ClientID: "c"})
	took := time.Since(start)
	t.Logf("a 300 ms hook that never answers: Run took %v", took)
	if err != nil || res.Claims != nil {
		t.Errorf("Run = %+v, %v; want allow with nothing added", res, err)
	}
	if took < 300*time.Millisecond || took > 400*time.Millisecond {
		t.Errorf("Run took %v, want 300 ms to 400 ms", took)
	}
	if got := f.failures(t); len(got) != 1 || !strings.Contains(got[0], "no answer within 300 ms") {
		t.Errorf("hook.failed = %v", got)
	}
}

// TestAnswers: a refusal's message as a string or per language; claims
// only within the allow-list and only at pre_token; attributes only at
// pre_registration; the request is signed with the hook's secret.
func TestAnswers(t *testing.T) {
	f := setup(t, true)
	var secret string
	var got []byte
	url := endpoint(t, func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		got = buf.Bytes()
		if err := whsig.Verify(secret, r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"),
			r.Header.Get("webhook-signature"), got, time.Now()); err != nil {
			t.Errorf("signature: %v", err)
		}
		_, _ = w.Write([]byte(`{"decision":"allow","claims":{"plan":"gold","role":"admin"},"attributes":{"tier":2}}`))
	})
	_, secret = f.hook(t, store.HookPreToken, url, store.HookFailDeny, "plan")
	res, err := f.svc.Run(t.Context(), store.HookPreToken, hooks.Call{Tenant: f.tenant, User: user, ClientID: "c1", Scopes: []string{"openid"}})
	if err != nil || len(res.Claims) != 1 || res.Claims["plan"] != "gold" || res.Attributes != nil {
		t.Errorf("pre_token: %+v %v", res, err)
	}
	if !strings.Contains(string(got), `"client":{"id":"c1","scopes":["openid"]}`) {
		t.Errorf("pre_token body: %s", got)
	}
	_, secret = f.hook(t, store.HookPreRegistration, url, store.HookFailDeny)
	res, err = f.svc.Run(t.Context(), store.HookPreRegistration, hooks.Call{Tenant: f.tenant, Email: "new@example.com"})
	if err != nil || res.Claims != nil || string(res.Attributes) != `{"tier":2}` {
		t.Errorf("pre_registration: %+v %v", res, err)
	}
	if strings.Contains(string(got), `"client"`) || !strings.Contains(string(got), `"email":"new@example.com"`) {
		t.Errorf("pre_registration body: %s", got)
	}

	// The tenant's profile schema binds the hook's attributes as it binds
	// any new user's: a value outside an enum is the hook's failure.
	if _, err := f.db.Tenants().UpdateTenant(t.Context(), f.tenant, func(tn *store.Tenant) error {
		tn.Settings = json.RawMessage(`{"profile_schema":{"fields":[{"name":"tier","type":"enum","enum":["1","3"]}]}}`)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Run(t.Context(), store.HookPreRegistration, hooks.Call{Tenant: f.tenant, Email: "new@example.com"}); err == nil {
		t.Error("pre_registration with attributes outside the schema: allowed, want the hook's failure (deny)")
	}
	if got := f.failures(t); len(got) != 1 || !strings.Contains(got[0], "attributes.tier") {
		t.Errorf("hook.failed = %v, want one naming attributes.tier", got)
	}

	g := setup(t, true)
	for answer, want := range map[string]hooks.Message{
		`{"decision":"deny","message":"No."}`:                                     {"en": "No."},
		`{"decision":"deny","message":{"en":"No.","de":"Nein."}}`:                 {"en": "No.", "de": "Nein."},
		`{"decision":"deny"}`:                                                     nil,
		`{"decision":"deny","message":{"en":"` + strings.Repeat("x", 600) + `"}}`: {"en": strings.Repeat("x", 500)},
	} {
		h, _ := g.hook(t, store.HookPostLogin, endpoint(t, reply(200, answer)), store.HookFailAllow)
		_, err := g.svc.Run(t.Context(), store.HookPostLogin, hooks.Call{Tenant: g.tenant, User: user})
		var d *hooks.DeniedError
		if !errors.As(err, &d) || len(d.Message) != len(want) || d.Message["en"] != want["en"] || d.Message["de"] != want["de"] {
			t.Errorf("%.60s: Run = %v (%+v)", answer, err, d)
		}
		if err := g.svc.Delete(t.Context(), admin, g.tenant, h.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMessageIn(t *testing.T) {
	m := hooks.Message{"en": "No.", "de": "Nein.", "pt-BR": "Não."}
	for lang, want := range map[string]string{"de": "Nein.", "de-AT": "Nein.", "pt-BR": "Não.", "es": "No.", "": "No."} {
		if got := m.In(lang); got != want {
			t.Errorf("In(%q) = %q, want %q", lang, got, want)
		}
	}
	if got := (hooks.Message{"fr": "Non."}).In("de"); got != "Non." {
		t.Errorf("In without en = %q", got)
	}
	if got := hooks.Message(nil).In("en"); got != "" {
		t.Errorf("nil In = %q", got)
	}
}

// TestRegistration: validation names each field, one hook per trigger,
// the secret is sealed at rest bound to its row, changes are audited
// without it, and the trigger cannot change.
func TestRegistration(t *testing.T) {
	f := setup(t, true)
	_, _, err := f.svc.Create(t.Context(), admin, f.tenant, hooks.NewHook{Trigger: "x", URL: "http://example.com/",
		TimeoutMS: 99, OnFailure: "later", AllowedClaims: []string{"iss"}})
	var ve *valid.Error
	if !errors.As(err, &ve) {
		t.Fatalf("Create(bad) = %v", err)
	}
	fields := map[string]bool{}
	for _, fe := range ve.Fields {
		fields[fe.Field] = true
	}
	for _, want := range []string{"trigger", "url", "timeout_ms", "on_failure", "allowed_claims"} {
		if !fields[want] {
			t.Errorf("field %s not named: %v", want, ve)
		}
	}
	for _, claim := range []string{"sub", "exp", "email", "groups", "9lives"} {
		_, _, err := f.svc.Create(t.Context(), admin, f.tenant, hooks.NewHook{Trigger: store.HookPreToken,
			URL: "https://hooks.example/x", AllowedClaims: []string{"plan", claim}})
		if !errors.As(err, &ve) || ve.Fields[0].Field != "allowed_claims" {
			t.Errorf("allowed_claims %q: %v", claim, err)
		}
	}
	h, secret := f.hook(t, store.HookPreToken, "https://hooks.example/x", store.HookFailDeny, "plan")
	if _, _, err := f.svc.Create(t.Context(), admin, f.tenant, hooks.NewHook{Trigger: store.HookPreToken,
		URL: "https://hooks.example/y"}); !errors.As(err, new(*valid.Conflict)) {
		t.Errorf("second pre_token hook: %v", err)
	}
	stored, err := f.db.Hooks().GetHook(t.Context(), f.tenant, h.ID)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored.SealedSecret, []byte(secret)) || bytes.Contains(stored.SealedSecret, []byte(strings.TrimPrefix(secret, "whsec_"))) {
		t.Error("the secret is stored in the clear")
	}
	if _, err := f.svc.Sealer.Open(stored.SealedSecret, []byte(string(f.tenant)+"/"+uuid.Must(uuid.NewV7()).String()+"/hook_secret")); err == nil {
		t.Error("the sealed secret opens for another row")
	}
	timeout := 5000
	up, err := f.svc.Update(t.Context(), admin, f.tenant, h.ID, 0, hooks.Patch{TimeoutMS: &timeout})
	if err != nil || up.TimeoutMS != 5000 || up.Version != 2 {
		t.Errorf("Update = %+v, %v", up, err)
	}
	bad := 20000
	if _, err := f.svc.Update(t.Context(), admin, f.tenant, h.ID, 0, hooks.Patch{TimeoutMS: &bad}); !errors.As(err, &ve) {
		t.Errorf("Update(out of range) = %v", err)
	}
	if _, err := f.svc.Update(t.Context(), admin, f.tenant, h.ID, 1, hooks.Patch{TimeoutMS: &timeout}); !errors.Is(err, store.ErrPrecondition) {
		t.Errorf("Update(stale version) = %v", err)
	}
	var actions []string
	_ = f.db.Audit().ScanAudit(t.Context(), f.tenant, func(e store.AuditEntry) error {
		actions = append(actions, e.Action)
		if bytes.Contains(e.Changes, []byte(strings.TrimPrefix(secret, "whsec_"))) {
			t.Errorf("audit %s carries the secret", e.Action)
		}
		return nil
	})
	if strings.Join(actions, ",") != "hook.create,hook.update" {
		t.Errorf("audit = %v", actions)
	}
	if _, err := f.svc.Get(t.Context(), f.tenant, "not-a-uuid"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get(malformed id) = %v", err)
	}
}
