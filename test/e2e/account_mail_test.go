package e2e

import (
	"bytes"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAccountEmailChangeMail: against the real binary with no SMTP
// server, the account page's email-change mail is delivered by the mail
// worker as an .eml file (no stand-in JSON), in the asker's language and
// the tenant's branding, and its link changes the address.
func TestAccountEmailChangeMail(t *testing.T) {
	n, env, api := setupOIDC(t)
	var dataDir string
	for _, kv := range env { // the last setting wins, as in the process
		if v, ok := strings.CutPrefix(kv, "GATEHOUSE_DATA_DIR="); ok {
			dataDir = v
		}
	}
	api.must(200, "PATCH", "/api/v1/tenants/default", map[string]any{"settings": map[string]any{
		"branding": map[string]any{"display_name": "Langley Research"}}})
	const email, password = "dorothy@example.com", "computing by hand 1943"
	var user struct {
		ID string `json:"id"`
	}
	api.must(201, "POST", "/api/v1/tenants/default/users", map[string]any{"email": email, "password": password}).json(t, &user)

	f := newFormClient(t, n.URL)
	if st, page, _ := f.post("/t/default/account/login", url.Values{"identifier": {email}, "password": {password}}); st != http.StatusOK ||
		!strings.Contains(page, email) {
		t.Fatalf("account sign-in: %d", st)
	}
	res, err := f.c.PostForm(n.URL+"/t/default/account/email", url.Values{"csrf": {f.csrf()}, "email": {"dorothy@new.example"},
		"password": {password}, "ui_locales": {"es"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK || !strings.Contains(res.Request.URL.RawQuery, "done=email") {
		t.Fatalf("email change: %d %s", res.StatusCode, res.Request.URL)
	}

	var files []string
	if !eventually(func() bool {
		files, _ = filepath.Glob(filepath.Join(dataDir, "mail", "*"))
		return len(files) == 1
	}) {
		t.Fatalf("mail files: %v\n%s", files, n.Logs())
	}
	if filepath.Ext(files[0]) != ".eml" {
		t.Fatalf("mail file %s is not an .eml", files[0])
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
	if err != nil {
		t.Fatal(err)
	}
	link := regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+/t/default/account/email/confirm\?token=gh_ec_[A-Za-z0-9_-]{43}`).FindString(string(body))
	if msg.Header.Get("To") != "dorothy@new.example" || subject != "Confirme su nueva dirección de correo para Langley Research" ||
		link == "" || !strings.Contains(string(body), "Enviado por Langley Research") {
		t.Fatalf("mail: To %q Subject %q\n%s", msg.Header.Get("To"), subject, body)
	}

	other := newFormClient(t, n.URL) // the mail may be opened on another device
	token := strings.TrimPrefix(link[strings.Index(link, "?token="):], "?token=")
	if st, page, _ := other.post("/t/default/account/email/confirm?token="+token, url.Values{"token": {token}}); st != http.StatusOK ||
		!strings.Contains(page, "dorothy@new.example") {
		t.Fatalf("confirm: %d %.300s", st, page)
	}
	var got struct {
		Email string `json:"email"`
	}
	api.must(200, "GET", "/api/v1/tenants/default/users/"+user.ID, nil).json(t, &got)
	if got.Email != "dorothy@new.example" {
		t.Fatalf("email after confirming: %q", got.Email)
	}
}
