package selfservice_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/credential"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/mail"
	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/session"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// env is one deployment's services, built as internal/server builds them.
type env struct {
	s      store.Store
	svc    *selfservice.Service
	sealer *seal.Sealer
	sess   *session.Service
}

var cheap = credential.Params{MemoryKiB: 1024, Iterations: 1, Parallelism: 1}

func newEnv(t *testing.T, s store.Store, p credential.Params) *env {
	t.Helper()
	sealer, err := seal.New(make([]byte, 32), nil)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := credential.NewHasher(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &events.Recorder{Now: time.Now}
	dir := &directory.Service{Store: s, Hasher: hasher, Audit: rec, Now: time.Now}
	sess := &session.Service{Store: s, Now: time.Now}
	queue, renderer := &mail.Queue{Sealer: sealer}, &mail.Renderer{}
	notices := &notice.Service{Queue: queue, Renderer: renderer, Audit: rec, PublicURL: "http://127.0.0.1:1", Now: time.Now}
	svc := &selfservice.Service{Store: s, Directory: dir, Hasher: hasher, Sessions: sess,
		Queue: queue, Renderer: renderer, Notices: notices, Audit: rec,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: time.Now, PublicURL: "http://127.0.0.1:1",
		Floor: time.Nanosecond}
	return &env{s: s, svc: svc, sealer: sealer, sess: sess}
}

// tenant creates a tenant with the self-service policy edit applied.
func (e *env) tenant(t *testing.T, edit func(*tenancy.SelfService)) *store.Tenant {
	t.Helper()
	set := tenancy.DefaultSettings()
	if edit != nil {
		edit(&set.SelfService)
	}
	raw, _ := json.Marshal(set)
	id := uuid.Must(uuid.NewV7()).String()
	tn := &store.Tenant{ID: store.TenantID(id), Slug: "t" + strings.ReplaceAll(id[len(id)-12:], "-", ""), Name: "Acme", Settings: raw}
	if err := e.s.Tenants().CreateTenant(t.Context(), tn); err != nil {
		t.Fatal(err)
	}
	return tn
}

func open(s *tenancy.SelfService) { s.Signup = tenancy.SignupOpen }

// sent is a mail the service queued, opened.
type sent struct {
	Kind string
	mail.Message
}

var codeRE = regexp.MustCompile(`\b[0-9]{6}\b`)

// Code is the mail's 6-digit code ("" without one).
func (m sent) Code() string { return codeRE.FindString(m.Text) }

// Token is the link's token.
func (m sent) Token() string {
	_, tok, _ := strings.Cut(m.Link, "?token=")
	return tok
}

// mails claims and opens every mail queued since the last call.
func (e *env) mails(t *testing.T) []sent {
	t.Helper()
	list, err := e.s.SelfService().MailQueue().ClaimMail(t.Context(), time.Now().Add(time.Hour), time.Hour, 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []sent
	for _, m := range list {
		plain, err := e.sealer.Open(m.Sealed, []byte("mail:"+m.ID))
		if err != nil {
			t.Fatal(err)
		}
		var msg mail.Message
		if err := json.Unmarshal(plain, &msg); err != nil {
			t.Fatal(err)
		}
		out = append(out, sent{Kind: m.Kind, Message: msg})
	}
	return out
}

func (e *env) one(t *testing.T, kind, to string) sent {
	t.Helper()
	ms := e.mails(t)
	if len(ms) != 1 || ms[0].Kind != kind || ms[0].To != to {
		t.Fatalf("queued mails %+v, want one %s to %s", ms, kind, to)
	}
	return ms[0]
}
