// Package post sends webhook deliveries over HTTP: the body
// {"type","timestamp","data"} signed per the Standard Webhooks
// specification (internal/whsig), through the outbound policy of
// internal/safehttp (no private, loopback or link-local destinations,
// checked after DNS, unless the deployment is a development one), with a
// timeout, no redirects and a bounded read of the answer.
package post

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
	"github.com/gatehouse-id/gatehouse/internal/whsig"
)

// Timeout bounds one delivery attempt, connection included.
const Timeout = 15 * time.Second

// Body is a delivery's JSON body, as the specification recommends; the
// event's id travels in the webhook-id header.
type Body struct {
	Type      string          `json:"type"`
	Timestamp time.Time       `json:"timestamp"`
	Data      json.RawMessage `json:"data"`
}

// Poster implements events.Poster.
type Poster struct {
	client *http.Client
	now    func() time.Time
	ua     string
}

var _ events.Poster = (*Poster)(nil)

// New answers a Poster. allowLoopback lets deliveries reach loopback
// addresses (development deployments and tests only); now stamps the
// webhook-timestamp header.
func New(allowLoopback bool, now func() time.Time, userAgent string) *Poster {
	c := safehttp.Policy{AllowLoopback: allowLoopback}.Client(Timeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if now == nil {
		now = time.Now
	}
	return &Poster{client: c, now: now, ua: userAgent}
}

// Post sends ev to url signed with secrets; any answer but 2xx is an error.
func (p *Poster) Post(ctx context.Context, url string, secrets []string, ev events.Event) (int, error) {
	body, err := json.Marshal(Body{Type: ev.Type, Timestamp: ev.Timestamp.UTC(), Data: ev.Data})
	if err != nil {
		return 0, err
	}
	hdr, err := whsig.Headers(secrets, ev.ID, p.now(), body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", "application/json")
	if p.ua != "" {
		req.Header.Set("User-Agent", p.ua)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}
