// Package hookhttp sends the flow's synchronous hooks over HTTP: one POST
// per call through the outbound policy of internal/safehttp (no private,
// loopback or link-local destinations unless the deployment allows
// loopback), no redirects, no proxies, the answer read up to a limit, all
// within the caller's deadline. It implements hooks.Poster.
package hookhttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/hooks"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
)

// Poster posts hook requests.
type Poster struct{ client *http.Client }

var _ hooks.Poster = (*Poster)(nil)

// New answers a Poster dialling under policy. The hooks' own deadlines
// bound every call; the client's timeout is only a backstop at the
// longest timeout a hook may have.
func New(policy safehttp.Policy) *Poster {
	c := policy.Client(hooks.MaxTimeout + time.Second)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Poster{client: c}
}

// Post sends body to url with headers and answers the status and at most
// limit bytes of the answer (more is an error). Errors name the kind of
// failure only (their text goes to the audit log): never a body.
func (p *Poster) Post(ctx context.Context, url string, headers map[string]string, body []byte, limit int64) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, errors.New("invalid URL")
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	req.Header.Set("User-Agent", "Gatehouse-Hooks/1")
	resp, err := p.client.Do(req)
	if err != nil {
		if errors.Is(err, safehttp.ErrRefused) {
			return 0, nil, errors.New("destination address refused")
		}
		return 0, nil, errors.New("connection failed")
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return resp.StatusCode, nil, errors.New("reading the answer failed")
	}
	if int64(len(raw)) > limit {
		return resp.StatusCode, nil, errors.New("answer too large")
	}
	return resp.StatusCode, raw, nil
}
