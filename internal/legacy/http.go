package legacy

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/safehttp"
)

// SignatureHeader carries the request's signature: "sha256=" and the hex
// HMAC-SHA256 of the body under the connection's secret. The body holds
// a timestamp and a random nonce, so the endpoint can refuse replays.
const SignatureHeader = "X-Gatehouse-Signature"

// Request is the body legacy_http POSTs (JSON).
type Request struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	Timestamp int64  `json:"timestamp"`
	Nonce     string `json:"nonce"`
}

// Sign answers the SignatureHeader value of body under secret.
func Sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// maxProfile bounds the endpoint's answer.
const maxProfile = 64 << 10

// httpBackend is a legacy_http endpoint. It answers 200 with the profile
// (a JSON object read through the mapping) for a right password, 401 or
// 403 for a wrong one, 404 when it has no such account; anything else is
// a failure. Redirects are not followed.
type httpBackend struct {
	st     connection.Settings
	secret string
	client *http.Client
}

func (s *Service) httpClient(allowLoopback bool) *http.Client {
	s.clientOnce.Do(func() {
		s.client = safehttp.Policy{AllowLoopback: allowLoopback}.Client(s.timeout())
		s.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	})
	return s.client
}

// Check implements backend.
func (b *httpBackend) Check(ctx context.Context, identifier, password string) (*Profile, error) {
	nonce := make([]byte, 16)
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	body, err := json.Marshal(Request{Username: identifier, Password: password,
		Timestamp: time.Now().Unix(), Nonce: hex.EncodeToString(nonce)})
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.st.Endpoint, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set(SignatureHeader, Sign(b.secret, body))
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("post: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusUnauthorized, http.StatusForbidden:
		return nil, errWrongPassword
	case http.StatusNotFound:
		return nil, errNoAccount
	default:
		return nil, fmt.Errorf("endpoint answered %d", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxProfile+1))
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if len(raw) > maxProfile {
		return nil, fmt.Errorf("profile over %d bytes", maxProfile)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return b.profile(doc)
}

func (b *httpBackend) profile(doc map[string]any) (*Profile, error) {
	get := func(k string) string {
		switch v := doc[b.st.Mapping[k]].(type) {
		case string:
			return strings.TrimSpace(v)
		case float64:
			return fmt.Sprint(v)
		case bool:
			return fmt.Sprint(v)
		}
		return ""
	}
	p := &Profile{Subject: get("subject"), Username: get("username"), Email: get("email"),
		EmailVerified: get("email_verified") == "true", GivenName: get("given_name"), FamilyName: get("family_name")}
	if p.Subject == "" || len(p.Subject) > 255 {
		return nil, fmt.Errorf("profile without a usable %q", b.st.Mapping["subject"])
	}
	return p, nil
}
