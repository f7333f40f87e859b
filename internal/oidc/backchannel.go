package oidc

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Back-channel logout delivery bounds: each notice has a short deadline and
// a few run at once, so a slow client cannot hold up a logout for long.
const (
	backchannelTimeout  = 3 * time.Second
	backchannelParallel = 8
	backchannelEvent    = "http://schemas.openid.net/event/backchannel-logout"
)

// BackchannelLogout tells every client that received tokens in the session
// and registered a back-channel logout URI that the session has ended
// (OpenID Connect Back-Channel Logout 1.0): a signed logout token with sub,
// sid and the logout event, POSTed as a form. Failures are logged: the
// session has ended whatever the clients answer.
func (p *Provider) BackchannelLogout(ctx context.Context, sess *store.Session) {
	t, err := p.store.Tenants().GetTenant(ctx, sess.Tenant)
	if err != nil || len(sess.Clients) == 0 {
		return
	}
	ctx = withTenant(context.WithoutCancel(ctx), t)
	sem := make(chan struct{}, backchannelParallel)
	var wg sync.WaitGroup
	for _, id := range sess.Clients {
		c, err := p.storage.client(ctx, id)
		if err != nil || c.c.BackchannelLogoutURI == "" {
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := p.sendLogoutToken(ctx, c, sess); err != nil {
				p.log.WarnContext(ctx, "oidc: back-channel logout failed", "client_id", c.c.ID, "err", err)
			}
		}()
	}
	wg.Wait()
}

func (p *Provider) sendLogoutToken(ctx context.Context, c *client, sess *store.Session) error {
	jti, err := uuid.NewV7()
	if err != nil {
		return err
	}
	now := p.now()
	tok, err := p.signJWT(ctx, sess.Tenant, c.idTokenAlg(), "logout+jwt", map[string]any{
		"iss": p.issuer(ctx), "aud": []string{c.c.ID}, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
		"jti": jti.String(), "sub": sess.UserID, "sid": sess.ID,
		"events": map[string]any{backchannelEvent: map[string]any{}},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, backchannelTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.c.BackchannelLogoutURI,
		strings.NewReader(url.Values{"logout_token": {tok}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := p.backchannelClient().Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode/100 != 2 {
		return &url.Error{Op: "POST", URL: c.c.BackchannelLogoutURI, Err: errStatus(res.StatusCode)}
	}
	return nil
}

// backchannelClients follow no redirects (a notice goes to the registered
// URI only) and dial through the outbound policy (internal/safehttp):
// [0] refuses loopback, [1] allows it.
var backchannelClients = [2]*http.Client{newBackchannelClient(false), newBackchannelClient(true)}

func newBackchannelClient(allowLoopback bool) *http.Client {
	c := safehttp.Policy{AllowLoopback: allowLoopback}.Client(backchannelTimeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

// backchannelClient: loopback only while the public URL is http://
// (development and tests), as for upstream connections.
func (p *Provider) backchannelClient() *http.Client {
	if strings.HasPrefix(p.publicURL, "http://") {
		return backchannelClients[1]
	}
	return backchannelClients[0]
}

type errStatus int

func (e errStatus) Error() string { return "status " + http.StatusText(int(e)) }
