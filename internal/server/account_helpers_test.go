package server

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// browserClient is one browser: a cookie jar, redirects not followed so
// a test sees each answer.
type browserClient struct {
	t    *testing.T
	c    *http.Client
	base string
	// lang, when set, is sent as Accept-Language.
	lang string
}

func (ta *testApp) browser() *browserClient {
	jar, err := cookiejar.New(nil)
	if err != nil {
		ta.t.Fatal(err)
	}
	return &browserClient{t: ta.t, base: ta.srv.URL, c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (p page) location() string { return p.header.Get("Location") }

func (b *browserClient) send(req *http.Request) page {
	b.t.Helper()
	if b.lang != "" {
		req.Header.Set("Accept-Language", b.lang)
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		b.t.Fatal(err)
	}
	return page{status: res.StatusCode, header: res.Header, body: string(raw)}
}

func (b *browserClient) get(path string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.base+path, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.send(req)
}

// post sends form as a browser form; hdr are extra header name/values.
func (b *browserClient) post(path string, form url.Values, hdr ...string) page {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.send(req)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf loads path and answers the CSRF token of its forms.
func (b *browserClient) csrf(path string) string {
	b.t.Helper()
	p := b.get(path)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF token in the page", path, p.status)
	}
	return m[1]
}

// form is url.Values from name/value pairs.
func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

// signIn signs b in on the account page of slug.
func (b *browserClient) signIn(slug, email, password string) {
	b.t.Helper()
	tok := b.csrf("/t/" + slug + "/account/login")
	p := b.post("/t/"+slug+"/account/login", form("csrf", tok, "identifier", email, "password", password))
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location(), "/t/"+slug+"/account") {
		b.t.Fatalf("sign-in of %s: %d %s", email, p.status, p.location())
	}
}

// userWithPassword creates a user of tenant with a password.
func (ta *testApp) userWithPassword(tenant store.TenantID, email, password string) *store.User {
	ta.t.Helper()
	u, err := ta.Directory.CreateUser(context.Background(), testActor, tenant, directory.NewUser{Email: email, Password: &password})
	if err != nil {
		ta.t.Fatalf("CreateUser(%s): %v", email, err)
	}
	return u
}

// mails answers the files the stand-in mailer wrote, by name.
func (ta *testApp) mails() []string {
	ta.t.Helper()
	files, _ := filepath.Glob(filepath.Join(ta.Config.DataDir, "mail", "*.json"))
	var out []string
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			ta.t.Fatal(err)
		}
		out = append(out, string(raw))
	}
	return out
}

// clearMails removes the mails written so far.
func (ta *testApp) clearMails() {
	ta.t.Helper()
	if err := os.RemoveAll(filepath.Join(ta.Config.DataDir, "mail")); err != nil {
		ta.t.Fatal(err)
	}
}

// auditActions answers the tenant's audit actions by actor type "user".
func (ta *testApp) userAuditActions(tenant store.TenantID) map[string]int {
	ta.t.Helper()
	out := map[string]int{}
	err := ta.DB.Audit().ScanAudit(context.Background(), tenant, func(e store.AuditEntry) error {
		if e.ActorType == "user" {
			out[e.Action]++
		}
		return nil
	})
	if err != nil {
		ta.t.Fatal(err)
	}
	return out
}
