package broker

import (
	"encoding/json"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// appleSecret makes Sign in with Apple's client secret: a JWT signed
// ES256 with the team's key (kid key_id), iss team_id, sub the client id
// (the Services ID), aud Apple's issuer, valid for five minutes.
func appleSecret(pemKey string, st connection.Settings, now time.Time) (string, error) {
	key, err := connection.AppleKey(pemKey)
	if err != nil {
		return "", err
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", st.KeyID))
	if err != nil {
		return "", err
	}
	claims := jwt.Claims{Issuer: st.TeamID, Subject: st.ClientID, Audience: jwt.Audience{st.Issuer},
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(5 * time.Minute))}
	return jwt.Signed(sig).Claims(claims).Serialize()
}

// appleFirstName takes the name Apple posts only on the first login, in
// the "user" form field: {"name":{"firstName":..,"lastName":..},"email":..}.
// The email there is not trusted: the ID token's is.
func appleFirstName(p *Profile, form url.Values) {
	raw := form.Get("user")
	if raw == "" || len(raw) > 4096 {
		return
	}
	var u struct {
		Name struct {
			FirstName string `json:"firstName"`
			LastName  string `json:"lastName"`
		} `json:"name"`
	}
	if json.Unmarshal([]byte(raw), &u) != nil {
		return
	}
	clip := func(s string) string {
		s = strings.TrimSpace(s)
		if len(s) > 100 {
			return ""
		}
		return s
	}
	p.GivenName, p.FamilyName = clip(u.Name.FirstName), clip(u.Name.LastName)
	if p.Name == "" {
		p.Name = strings.TrimSpace(p.GivenName + " " + p.FamilyName)
	}
}
