package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/cookiejar"
	"net/mail"
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
	// password is the one signIn used: the factors page asks for it again
	// before a first factor (enrolTOTP).
	password string
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
	b.password = password
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

// deliveredMail is one mail as the app's worker delivered it: an .eml
// file the FileSender wrote under {data_dir}/mail/ (no SMTP configured),
// parsed as a mail client would.
type deliveredMail struct {
	From, To, Subject, Text, HTML string
}

// String shows the whole mail in failure messages.
func (m deliveredMail) String() string {
	return fmt.Sprintf("From: %s\nTo: %s\nSubject: %s\n\n%s\n%s", m.From, m.To, m.Subject, m.Text, m.HTML)
}

// deliverMails runs the app's mail worker until the queue holds no due
// mail (bounded), as the worker Serve starts would.
func (ta *testApp) deliverMails() {
	ta.t.Helper()
	w := ta.MailWorker()
	for range 20 {
		n, err := w.RunOnce(context.Background())
		if err != nil {
			ta.t.Fatalf("mail worker: %v", err)
		}
		if n == 0 {
			return
		}
	}
	ta.t.Fatal("the mail queue did not drain")
}

// mails delivers what is queued and answers every mail delivered since
// the last clearMails, in delivery order.
func (ta *testApp) mails() []deliveredMail {
	ta.t.Helper()
	ta.deliverMails()
	files, err := filepath.Glob(filepath.Join(ta.Config.DataDir, "mail", "*.eml"))
	if err != nil {
		ta.t.Fatal(err)
	}
	var out []deliveredMail
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			ta.t.Fatal(err)
		}
		out = append(out, parseEML(ta.t, raw))
	}
	return out
}

// parseEML reads a multipart/alternative mail with quoted-printable parts.
func parseEML(t *testing.T, raw []byte) deliveredMail {
	t.Helper()
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("mail file: %v", err)
	}
	subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		t.Fatalf("subject: %v", err)
	}
	m := deliveredMail{From: msg.Header.Get("From"), To: msg.Header.Get("To"), Subject: subject}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || typ != "multipart/alternative" {
		t.Fatalf("mail content type %q: %v", typ, err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for range 4 {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("mail part: %v", err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(part))
		if err != nil {
			t.Fatalf("mail part: %v", err)
		}
		switch part.Header.Get("Content-Type") {
		case "text/plain; charset=utf-8":
			m.Text = string(body)
		case "text/html; charset=utf-8":
			m.HTML = string(body)
		}
	}
	return m
}

// clearMails delivers what is queued, then removes every delivered mail.
func (ta *testApp) clearMails() {
	ta.t.Helper()
	ta.deliverMails()
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
