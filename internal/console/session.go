package console

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// sessionState is what the console session cookie carries, sealed with
// the master key (AES-GCM, bound to its purpose): who signed in, through
// which login session, the CSRF token of its forms, and its times.
type sessionState struct {
	Tenant string `json:"t"` // the home tenant's id
	User   string `json:"u"`
	SID    string `json:"s"` // the login session (store.Session) it came from
	CSRF   string `json:"c"`
	Issued int64  `json:"i"` // unix seconds
	Seen   int64  `json:"l"` // last request, unix seconds
}

// loginState is the pending login's cookie: the PKCE verifier, state and
// nonce of one authorization request, and where to go afterwards.
type loginState struct {
	Tenant   string `json:"t"` // slug of the tenant signed in to
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	ReturnTo string `json:"r"`
	Issued   int64  `json:"i"`
}

const (
	sessionAAD = "gatehouse console session"
	loginAAD   = "gatehouse console login"
	// loginMaxAge bounds a pending login.
	loginMaxAge = 10 * time.Minute
	// touchEvery: the cookie's last-seen time is rewritten at most this
	// often (each rewrite is a Set-Cookie).
	touchEvery = time.Minute
)

func (c *Console) secure() bool { return strings.HasPrefix(c.PublicURL, "https://") }

func cookieName(secure bool, name string) string {
	if secure {
		return "__Host-" + name
	}
	return name
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(c.secure(), name), Value: value, Path: "/",
		MaxAge: maxAge, HttpOnly: true, Secure: c.secure(), SameSite: http.SameSiteLaxMode})
}

// seal encodes v into a cookie value bound to aad.
func (c *Console) seal(v any, aad string) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	s, err := c.Sealer.Seal(b, []byte(aad))
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s), nil
}

// open decodes a cookie value sealed for aad; false when it is missing,
// forged or from another purpose.
func (c *Console) open(r *http.Request, name, aad string, v any) bool {
	ck, err := r.Cookie(cookieName(c.secure(), name))
	if err != nil || len(ck.Value) > 4096 {
		return false
	}
	raw, err := base64.RawURLEncoding.DecodeString(ck.Value)
	if err != nil {
		return false
	}
	b, err := c.Sealer.Open(raw, []byte(aad))
	if err != nil {
		return false
	}
	return json.Unmarshal(b, v) == nil
}

// readSession answers the live console session of r, or nil: missing,
// forged, idle past the timeout or older than maxAge.
func (c *Console) readSession(r *http.Request) *sessionState {
	var s sessionState
	if !c.open(r, "gh_console", sessionAAD, &s) {
		return nil
	}
	now := c.now()
	if s.User == "" || s.Tenant == "" || len(s.CSRF) != 43 ||
		now.Sub(time.Unix(s.Seen, 0)) > c.idle() || now.Sub(time.Unix(s.Issued, 0)) > maxAge {
		return nil
	}
	return &s
}

// writeSession sets the session cookie. It is a browser-session cookie:
// the sealed times, not the cookie's own lifetime, decide expiry.
func (c *Console) writeSession(w http.ResponseWriter, s *sessionState) error {
	v, err := c.seal(s, sessionAAD)
	if err != nil {
		return err
	}
	c.setCookie(w, "gh_console", v, 0)
	return nil
}

// touch moves the session's last-seen time forward when it is stale.
func (c *Console) touch(w http.ResponseWriter, s *sessionState) {
	now := c.now()
	if now.Sub(time.Unix(s.Seen, 0)) < touchEvery {
		return
	}
	s.Seen = now.Unix()
	if err := c.writeSession(w, s); err != nil {
		c.Log.Warn("console: session cookie", "err", err)
	}
}

func (c *Console) clearSession(w http.ResponseWriter) { c.setCookie(w, "gh_console", "", -1) }

// checkCSRF: a POST carries the session's token in its "csrf" field and,
// when the browser names an Origin, comes from the public URL's origin.
// ("null" names none: browsers send it under Referrer-Policy: no-referrer.)
func (c *Console) checkCSRF(r *http.Request, s *sessionState) bool {
	if o := r.Header.Get("Origin"); o != "" && o != "null" && o != c.origin() {
		return false
	}
	form := r.PostFormValue("csrf")
	return len(form) == 43 && subtle.ConstantTimeCompare([]byte(form), []byte(s.CSRF)) == 1
}

func (c *Console) origin() string {
	u, err := url.Parse(c.PublicURL)
	if err != nil {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// randomToken answers 256 random bits, base64url (43 characters).
func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// setFlash leaves a catalog key for the next page (setFlash/takeFlash).
func setFlash(w http.ResponseWriter, secure bool, key string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName(secure, "gh_console_flash"), Value: key, Path: "/",
		MaxAge: 60, HttpOnly: true, Secure: secure, SameSite: http.SameSiteLaxMode})
}

// takeFlash reads and clears the flash; only catalog keys of the console
// are taken, so a planted cookie shows nothing of its own.
func (c *Console) takeFlash(w http.ResponseWriter, r *http.Request) string {
	ck, err := r.Cookie(cookieName(c.secure(), "gh_console_flash"))
	if err != nil {
		return ""
	}
	c.setCookie(w, "gh_console_flash", "", -1)
	if !strings.HasPrefix(ck.Value, "console.") || len(ck.Value) > 100 {
		return ""
	}
	return ck.Value
}
