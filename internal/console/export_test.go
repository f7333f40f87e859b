package console

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// SessionCookieForTest mints the console session cookie of user (of home)
// signed in through login session sid, as the callback would.
func (c *Console) SessionCookieForTest(home store.TenantID, user, sid string, issued, seen time.Time) (*http.Cookie, string) {
	csrf := randomToken()
	v, err := c.seal(&sessionState{Tenant: string(home), User: user, SID: sid, CSRF: csrf,
		Issued: issued.Unix(), Seen: seen.Unix()}, sessionAAD)
	if err != nil {
		panic(err)
	}
	return &http.Cookie{Name: cookieName(c.secure(), "gh_console"), Value: v, Path: "/"}, csrf
}
