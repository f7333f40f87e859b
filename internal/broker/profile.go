package broker

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"golang.org/x/oauth2"
)

// lookup walks a dotted path through decoded JSON.
func lookup(v any, path string) any {
	for _, part := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[part]
	}
	return v
}

// text answers a string, a number (in its exact JSON form) or "".
func text(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return ""
}

// truthy: true, or the string "true" (Apple sends email_verified as one).
func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case string:
		return x == "true"
	}
	return false
}

// mapProfile reads the profile fields through mapping, then defaults.
// Values longer than 256 characters are dropped.
func mapProfile(doc map[string]any, mapping, defaults map[string]string) Profile {
	get := func(k string) any {
		path := mapping[k]
		if path == "" {
			path = defaults[k]
		}
		if path == "" {
			return nil
		}
		return lookup(doc, path)
	}
	str := func(k string) string {
		s := strings.TrimSpace(text(get(k)))
		if len(s) > 256 {
			return ""
		}
		return s
	}
	return Profile{Subject: str("subject"), Email: str("email"), EmailVerified: truthy(get("email_verified")),
		Name: str("name"), GivenName: str("given_name"), FamilyName: str("family_name")}
}

// getJSON GETs url with the access token and decodes the JSON answer.
func getJSON(ctx context.Context, c *http.Client, url string, tok *oauth2.Token, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &Error{Reason: ReasonConfig, Err: err}
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	res, err := c.Do(req)
	if err != nil {
		return &Error{Reason: ReasonUnreachable, Err: err}
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return &Error{Reason: ReasonUnreachable, Err: err}
	}
	if res.StatusCode != http.StatusOK {
		return &Error{Reason: ReasonUpstream, Err: fmt.Errorf("GET %s: %s", req.URL.Redacted(), res.Status)}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return &Error{Reason: ReasonProfile, Err: err}
	}
	return nil
}

// oauthProfile reads a plain OAuth 2.0 profile (Facebook's Graph API
// /me, GitHub's /user, a generic userinfo URL) and, when the connection
// has an emails endpoint (GitHub's /user/emails), the primary verified
// address. An address from the profile alone counts as verified only
// when the mapping names an email_verified field that says so.
func (b *Broker) oauthProfile(ctx context.Context, st connection.Settings, tok *oauth2.Token) (Profile, error) {
	c := b.httpClient()
	var doc map[string]any
	if err := getJSON(ctx, c, st.UserinfoEndpoint, tok, &doc); err != nil {
		return Profile{}, err
	}
	prof := mapProfile(doc, st.Mapping, map[string]string{"email": "email", "name": "name"})
	if st.Mapping["email_verified"] == "" {
		prof.EmailVerified = false
	}
	if prof.Subject == "" {
		return Profile{}, &Error{Reason: ReasonProfile, Err: errors.New("profile without the mapped subject")}
	}
	if st.EmailsEndpoint != "" {
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := getJSON(ctx, c, st.EmailsEndpoint, tok, &emails); err != nil {
			return Profile{}, err
		}
		for _, e := range emails {
			if e.Primary && e.Verified && len(e.Email) <= 254 {
				prof.Email, prof.EmailVerified = e.Email, true
			}
		}
	}
	return prof, nil
}
