// Package scimclient is the HTTP side of outbound provisioning: a SCIM
// 2.0 client (RFC 7644) for one target, with its bearer token, through the
// outbound policy of internal/safehttp (no private, loopback or link-local
// destinations unless the deployment is a development one), a timeout, no
// redirects and a bounded read of each answer. Failures are
// *provision.RemoteError values carrying the target's status and its own
// short detail.
package scimclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/provision"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
)

// uriPatch is the PatchOp message's schema (RFC 7644 3.5.2).
const uriPatch = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

// maxAnswer bounds how much of a target's answer is read.
const maxAnswer = 1 << 20

// Timeout bounds one request to a target, connection included.
const Timeout = 15 * time.Second

// Connector opens clients of targets; it implements provision.Connector.
type Connector struct {
	http *http.Client
	ua   string
}

var _ provision.Connector = (*Connector)(nil)

// New answers a Connector. allowLoopback lets requests reach loopback
// addresses (development deployments and tests only).
func New(allowLoopback bool, userAgent string) *Connector {
	c := safehttp.Policy{AllowLoopback: allowLoopback}.Client(Timeout)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Connector{http: c, ua: userAgent}
}

// Open answers a client of the SCIM base URL with the bearer token.
func (c *Connector) Open(baseURL, token string) provision.Remote {
	return &client{http: c.http, base: strings.TrimRight(baseURL, "/"), token: token, ua: c.ua}
}

// client speaks SCIM 2.0 to one target with its bearer token.
type client struct {
	http  *http.Client
	base  string // without a trailing slash
	token string
	ua    string
}

var _ provision.Remote = (*client)(nil)

// do sends body (JSON, when not nil) and decodes a 2xx answer into out
// (when not nil).
func (c *client) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/scim+json, application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	req.Header.Set("User-Agent", c.ua)
	resp, err := c.http.Do(req)
	if err != nil {
		return &provision.RemoteError{Detail: transportDetail(ctx, err)}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return &provision.RemoteError{Status: resp.StatusCode, Detail: "the answer could not be read"}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Detail string `json:"detail"`
		}
		_ = json.Unmarshal(raw, &e)
		return &provision.RemoteError{Status: resp.StatusCode, Detail: clip(e.Detail, 300)}
	}
	if out == nil || len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return &provision.RemoteError{Status: resp.StatusCode, Detail: "the answer is not JSON"}
	}
	return nil
}

// transportDetail names a failure to reach the target without echoing
// the URL's query or anything the target sent.
func transportDetail(ctx context.Context, err error) string {
	switch {
	case ctx.Err() != nil:
		return "timed out"
	case errors.Is(err, safehttp.ErrRefused):
		return "the target's address is not allowed (private or loopback network)"
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return clip(err.Error(), 200)
}

func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// resource is the part of an answer Create reads.
type resource struct {
	ID string `json:"id"`
}

// Find answers the id of a resource of kind ("Users" or "Groups") whose
// attr equals value (case-insensitively, as SCIM compares userName), or ""
// when there is none. Answers are checked, not trusted: a target that
// ignores the filter and lists everything adopts nothing by mistake.
func (c *client) Find(ctx context.Context, kind, attr, value string) (string, error) {
	q := url.Values{"filter": {attr + " eq " + provision.Quote(value)}, "count": {"10"}}
	var out struct {
		Resources []map[string]any `json:"Resources"`
	}
	if err := c.do(ctx, http.MethodGet, "/"+kind+"?"+q.Encode(), nil, &out); err != nil {
		return "", err
	}
	for _, r := range out.Resources {
		id, _ := r["id"].(string)
		if v, _ := r[attr].(string); id != "" && strings.EqualFold(v, value) {
			return id, nil
		}
	}
	return "", nil
}

// Create POSTs doc to kind and answers the new resource's id.
func (c *client) Create(ctx context.Context, kind string, doc map[string]any) (string, error) {
	var out resource
	if err := c.do(ctx, http.MethodPost, "/"+kind, doc, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", &provision.RemoteError{Status: http.StatusCreated, Detail: "the created resource has no id"}
	}
	return out.ID, nil
}

// Put replaces a resource.
func (c *client) Put(ctx context.Context, kind, id string, doc map[string]any) error {
	return c.do(ctx, http.MethodPut, "/"+kind+"/"+url.PathEscape(id), doc, nil)
}

// Patch applies PatchOp operations to a resource.
func (c *client) Patch(ctx context.Context, kind, id string, ops ...map[string]any) error {
	return c.do(ctx, http.MethodPatch, "/"+kind+"/"+url.PathEscape(id),
		map[string]any{"schemas": []string{uriPatch}, "Operations": ops}, nil)
}

// Delete removes a resource.
func (c *client) Delete(ctx context.Context, kind, id string) error {
	return c.do(ctx, http.MethodDelete, "/"+kind+"/"+url.PathEscape(id), nil, nil)
}
