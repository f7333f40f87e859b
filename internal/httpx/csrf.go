package httpx

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
)

// CSRF protects the hosted pages' forms: a double-submit token (a random
// cookie value repeated in a hidden field) plus an Origin check.
type CSRF struct {
	// PublicURL is the deployment's public URL: its origin is the only one
	// forms may come from, and https makes the cookie Secure and __Host-.
	PublicURL string
}

func (c CSRF) secure() bool { return strings.HasPrefix(c.PublicURL, "https://") }

func (c CSRF) cookie() string {
	if c.secure() {
		return "__Host-gh_csrf"
	}
	return "gh_csrf"
}

// Token returns the browser's CSRF token, setting a new one if it has none.
func (c CSRF) Token(w http.ResponseWriter, r *http.Request) string {
	if ck, err := r.Cookie(c.cookie()); err == nil && len(ck.Value) == 43 {
		return ck.Value
	}
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	tok := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: c.cookie(), Value: tok, Path: "/", HttpOnly: true,
		Secure: c.secure(), SameSite: http.SameSiteLaxMode})
	return tok
}

// Check reports whether a posted form carries the browser's token in its
// "csrf" field and, when the browser sent an Origin, comes from ours.
func (c CSRF) Check(r *http.Request) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		if o != RequestOrigin(r, c.PublicURL) {
			return false
		}
	}
	ck, err := r.Cookie(c.cookie())
	form := r.PostFormValue("csrf")
	return err == nil && len(form) == 43 && subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) == 1
}
