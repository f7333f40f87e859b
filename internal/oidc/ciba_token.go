package oidc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// cibaGrant answers the token endpoint's CIBA grant (CIBA Core 1.0
// section 10); it reports whether r was one (any other grant_type goes on
// to the library's token endpoint).
func (p *Provider) cibaGrant(w http.ResponseWriter, r *http.Request) bool {
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != GrantCIBA {
		return false
	}
	ctx := r.Context()
	c, ok := p.formClient(w, r) // as at the token endpoint (par.go)
	if !ok {
		return true
	}
	resp, err := p.cibaToken(ctx, c, r.PostForm.Get("auth_req_id"))
	if err != nil {
		op.WriteError(w, r, err, nil)
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
	return true
}

// cibaPoll decides one token request of clientID for c at now, updating c
// as the store keeps it (inside UpdateCIBARequest, which holds the row, so
// of racing polls of an approved request exactly one sees pollIssue). The
// outcomes are the device grant's (device.go).
func cibaPoll(c *store.CIBARequest, clientID string, now time.Time) pollResult {
	return pollTurn{owner: c.ClientID, state: c.State, expiry: cibaExpiry(c), interval: cibaInterval,
		done: &c.Done, lastPoll: &c.LastPoll}.decide(clientID, now)
}

func errInvalidAuthReq() *oidc.Error {
	return oidc.ErrInvalidGrant().WithDescription("auth_req_id invalid or expired")
}

func (p *Provider) cibaToken(ctx context.Context, c *client, authReqID string) (*oidc.AccessTokenResponse, error) {
	if !c.hasGrant(GrantCIBA) {
		return nil, oidc.ErrUnauthorizedClient().WithDescription("the client may not use the CIBA grant")
	}
	if !strings.HasPrefix(authReqID, authReqPrefix) || len(authReqID) > 128 {
		return nil, errInvalidAuthReq()
	}
	tn := tenantFrom(ctx).ID
	// DPoP first (dpop.go): a use_dpop_nonce answer must leave the
	// request for the retry.
	jkt, err := p.tokenBinding(ctx, c)
	if err != nil {
		return nil, err
	}
	cr := p.store.OAuth().CIBA()
	found, err := cr.GetCIBAByAuthReq(ctx, tn, sha(authReqID))
	if errors.Is(err, store.ErrNotFound) {
		return nil, errInvalidAuthReq()
	}
	if err != nil {
		return nil, p.storage.hide(ctx, err)
	}
	var res pollResult
	req, err := cr.UpdateCIBARequest(ctx, tn, found.ID, func(x *store.CIBARequest) error {
		res = cibaPoll(x, c.c.ID, p.now())
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errInvalidAuthReq()
	case err != nil:
		return nil, p.storage.hide(ctx, err)
	}
	family := "ciba_" + req.ID
	switch res {
	case pollPending:
		return nil, oidc.ErrAuthorizationPending()
	case pollSlowDown:
		return nil, oidc.ErrSlowDown()
	case pollDenied:
		return nil, oidc.ErrAccessDenied().WithDescription("the user denied the request")
	case pollExpired:
		return nil, oidc.ErrExpiredDeviceCode().WithDescription("the request expired before the user approved it")
	case pollOtherClient:
		return nil, errInvalidAuthReq()
	case pollUsed:
		// A second use: what the first produced is revoked.
		if err := p.store.OAuth().Tokens().RevokeFamily(ctx, tn, family); err != nil {
			return nil, p.storage.hide(ctx, err)
		}
		p.log.WarnContext(ctx, "oidc: auth_req_id reused; its tokens are revoked", "client_id", c.c.ID)
		return nil, oidc.ErrInvalidGrant().WithDescription("auth_req_id already used")
	}
	if u, err := p.store.Users().GetUser(ctx, tn, req.UserID); err != nil || u.Status != store.UserActive {
		return nil, oidc.ErrAccessDenied().WithDescription("the user can no longer sign in")
	}
	// The tokens belong to the client, not to the browser session that
	// approved: no sid, and ending that session does not end them.
	g := grant{grantType: GrantCIBA, tenant: tn, issuer: p.issuer(ctx), client: c, userID: req.UserID, scopes: req.Scopes,
		familyID: family, kind: store.GrantDevice, authTime: req.AuthTime, amr: req.AMR, jkt: jkt}
	return p.issue(ctx, g, c.hasGrant(oidc.GrantTypeRefreshToken))
}

// CIBAByApproval answers the pending request of a mailed approval link's
// secret; store.ErrNotFound when there is none (unknown, expired, decided,
// or for nobody).
func (p *Provider) CIBAByApproval(ctx context.Context, t *store.Tenant, secret string) (*store.CIBARequest, error) {
	if !strings.HasPrefix(secret, cibaApprovalPrefix) || len(secret) > 128 {
		return nil, store.ErrNotFound
	}
	c, err := p.store.OAuth().CIBA().GetCIBAByApproval(ctx, t.ID, sha(secret))
	if err != nil {
		return nil, err
	}
	return p.cibaPending(c)
}

// CIBAByID answers the pending request id (the approval page, back from
// the sign-in); store.ErrNotFound when it is not pending.
func (p *Provider) CIBAByID(ctx context.Context, t *store.Tenant, id string) (*store.CIBARequest, error) {
	if id == "" || len(id) > 64 {
		return nil, store.ErrNotFound
	}
	c, err := p.store.OAuth().CIBA().GetCIBARequest(ctx, t.ID, id)
	if err != nil {
		return nil, err
	}
	return p.cibaPending(c)
}

func (p *Provider) cibaPending(c *store.CIBARequest) (*store.CIBARequest, error) {
	if c.State != devicePending || c.Done || c.UserID == "" || !p.now().Before(cibaExpiry(c)) {
		return nil, store.ErrNotFound
	}
	return c, nil
}

// DecideCIBA records the answer of the session's user to request id: only
// the user the request names may answer (store.ErrNotFound otherwise, or
// when it is no longer pending). In ping mode the client is then notified.
func (p *Provider) DecideCIBA(ctx context.Context, t *store.Tenant, id string, sess *store.Session, approve bool) error {
	now := p.now()
	c, err := p.store.OAuth().CIBA().UpdateCIBARequest(ctx, t.ID, id, func(x *store.CIBARequest) error {
		if x.State != devicePending || x.Done || x.UserID == "" || x.UserID != sess.UserID || !now.Before(cibaExpiry(x)) {
			return store.ErrNotFound
		}
		if approve {
			x.State, x.SessionID, x.AuthTime, x.AMR = deviceApproved, sess.ID, sess.AuthTime, sess.AMR
		} else {
			x.State = deviceDenied
		}
		return nil
	})
	if err != nil {
		return err
	}
	p.log.InfoContext(ctx, "oidc: backchannel authentication decided", "client_id", c.ClientID, "approved", approve,
		"user_id", sess.UserID, "ciba_id", c.ID)
	if len(c.NotificationToken) > 0 {
		go p.cibaPing(context.WithoutCancel(withTenant(ctx, t)), c)
	}
	return nil
}

// cibaPing tells a ping-mode client its request was answered (CIBA Core
// 1.0 section 10.2): a POST of {"auth_req_id"} to its registered
// notification endpoint with the client_notification_token as bearer,
// through the outbound policy, no redirects. A failure is logged; the
// client can still poll.
func (p *Provider) cibaPing(ctx context.Context, c *store.CIBARequest) {
	err := func() error {
		cl, err := p.storage.client(ctx, c.ClientID)
		if err != nil {
			return err
		}
		endpoint := cl.c.BackchannelNotificationEndpoint
		if cl.c.BackchannelTokenDelivery != "ping" || endpoint == "" {
			return errors.New("the client is no longer registered for ping")
		}
		token, err := p.ciba.sealer.Open(c.NotificationToken, cibaAAD(c.Tenant, c.ID))
		if err != nil {
			return err
		}
		body, err := json.Marshal(map[string]string{"auth_req_id": p.ciba.authReqID(c.Tenant, c.ID)})
		if err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(ctx, backchannelTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+string(token))
		res, err := p.backchannelClient().Do(req)
		if err != nil {
			return err
		}
		res.Body.Close()
		if res.StatusCode/100 != 2 {
			return &url.Error{Op: "POST", URL: endpoint, Err: errStatus(res.StatusCode)}
		}
		return nil
	}()
	if err != nil {
		p.log.WarnContext(ctx, "oidc: CIBA ping failed", "client_id", c.ClientID, "ciba_id", c.ID, "err", err)
	}
}
