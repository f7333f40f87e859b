package userimport

import (
	"encoding/base32"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/credential"
)

// auth0User is a line of an Auth0 export: the user export job's NDJSON,
// or the password-hash export Auth0 support provides (its _id.$oid and
// passwordHash), or the bulk-import shape (custom_password_hash).
type auth0User struct {
	UserID string `json:"user_id"`
	OID    struct {
		OID string `json:"$oid"`
	} `json:"_id"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Username      string `json:"username"`
	GivenName     string `json:"given_name"`
	FamilyName    string `json:"family_name"`
	Name          string `json:"name"`
	Nickname      string `json:"nickname"`
	Picture       string `json:"picture"`
	PhoneNumber   string `json:"phone_number"`
	PhoneVerified bool   `json:"phone_verified"`
	Blocked       bool   `json:"blocked"`
	CreatedAt     string `json:"created_at"`
	LastLogin     string `json:"last_login"`
	PasswordHash  string `json:"passwordHash"`
	PasswordHash2 string `json:"password_hash"`
	Custom        struct {
		Algorithm string `json:"algorithm"`
		Hash      struct {
			Value string `json:"value"`
		} `json:"hash"`
	} `json:"custom_password_hash"`
	Identities []struct {
		Provider   string `json:"provider"`
		UserID     any    `json:"user_id"`
		Connection string `json:"connection"`
		IsSocial   bool   `json:"isSocial"`
	} `json:"identities"`
	AppMetadata struct {
		Roles []string `json:"roles"`
	} `json:"app_metadata"`
	UserMetadata map[string]any `json:"user_metadata"`
}

func parseAuth0(b []byte) (Record, error) {
	var u auth0User
	if err := json.Unmarshal(b, &u); err != nil {
		return Record{}, fmt.Errorf("bad JSON: %w", err)
	}
	r := Record{ExternalID: u.UserID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
		GivenName: u.GivenName, FamilyName: u.FamilyName, Phone: u.PhoneNumber, PhoneVerified: u.PhoneVerified,
		Disabled: u.Blocked, Roles: u.AppMetadata.Roles, PasswordHash: u.PasswordHash}
	if r.ExternalID == "" && u.OID.OID != "" {
		r.ExternalID = "auth0|" + u.OID.OID
	}
	if r.PasswordHash == "" {
		r.PasswordHash = u.PasswordHash2
	}
	if r.PasswordHash == "" && u.Custom.Hash.Value != "" {
		r.PasswordHash = u.Custom.Hash.Value
	}
	for _, id := range u.Identities {
		if !id.IsSocial {
			continue
		}
		r.Identities = append(r.Identities, Identity{Connection: id.Connection, Subject: fmt.Sprint(id.UserID)})
	}
	attrs := map[string]any{}
	for k, v := range map[string]string{"name": u.Name, "nickname": u.Nickname, "picture": u.Picture} {
		if v != "" {
			attrs[k] = v
		}
	}
	if len(u.UserMetadata) > 0 {
		attrs["user_metadata"] = u.UserMetadata
	}
	if len(attrs) > 0 {
		r.Attributes = attrs
	}
	var err1, err2 error
	r.CreatedAt, err1 = parseTime(u.CreatedAt)
	r.LastLoginAt, err2 = parseTime(u.LastLogin)
	return r, errors.Join(err1, err2)
}

// keycloakUser is a user of a Keycloak realm export (kc.sh export, or the
// realm-users-N.json files of a split export).
type keycloakUser struct {
	ID               string              `json:"id"`
	Username         string              `json:"username"`
	Email            string              `json:"email"`
	EmailVerified    bool                `json:"emailVerified"`
	FirstName        string              `json:"firstName"`
	LastName         string              `json:"lastName"`
	Enabled          *bool               `json:"enabled"`
	CreatedTimestamp int64               `json:"createdTimestamp"`
	Attributes       map[string][]string `json:"attributes"`
	Credentials      []struct {
		Type           string `json:"type"`
		SecretData     string `json:"secretData"`
		CredentialData string `json:"credentialData"`
	} `json:"credentials"`
	FederatedIdentities []struct {
		IdentityProvider string `json:"identityProvider"`
		UserID           string `json:"userId"`
		UserName         string `json:"userName"`
	} `json:"federatedIdentities"`
	RealmRoles []string `json:"realmRoles"`
	Groups     []string `json:"groups"`
}

// keycloakCred is what the JSON strings secretData and credentialData of
// a credential hold.
type keycloakCred struct {
	Value string `json:"value"`
	Salt  string `json:"salt"`
}

type keycloakCredData struct {
	HashIterations int                 `json:"hashIterations"`
	Algorithm      string              `json:"algorithm"`
	SubType        string              `json:"subType"`
	Digits         int                 `json:"digits"`
	Period         int                 `json:"period"`
	Additional     map[string][]string `json:"additionalParameters"`
}

func parseKeycloak(b []byte) (Record, error) {
	var u keycloakUser
	if err := json.Unmarshal(b, &u); err != nil {
		return Record{}, fmt.Errorf("bad JSON: %w", err)
	}
	r := Record{ExternalID: u.ID, Email: u.Email, EmailVerified: u.EmailVerified, Username: u.Username,
		GivenName: u.FirstName, FamilyName: u.LastName, Disabled: u.Enabled != nil && !*u.Enabled}
	for _, role := range u.RealmRoles {
		// Roles every Keycloak realm gives everyone have no meaning here.
		if !strings.HasPrefix(role, "default-roles-") && role != "offline_access" && role != "uma_authorization" {
			r.Roles = append(r.Roles, role)
		}
	}
	if u.CreatedTimestamp > 0 {
		r.CreatedAt, _ = parseTime(strconv.FormatInt(u.CreatedTimestamp, 10))
	}
	for _, g := range u.Groups {
		// Keycloak names groups by path ("/staff/admins"): the last part
		// is the group here.
		if i := strings.LastIndex(g, "/"); i >= 0 {
			g = g[i+1:]
		}
		if g != "" {
			r.Groups = append(r.Groups, g)
		}
	}
	if len(u.Attributes) > 0 {
		r.Attributes = map[string]any{"keycloak": u.Attributes}
	}
	for _, fi := range u.FederatedIdentities {
		r.Identities = append(r.Identities, Identity{Connection: fi.IdentityProvider, Subject: fi.UserID})
	}
	for _, c := range u.Credentials {
		var sec keycloakCred
		var data keycloakCredData
		if err := errors.Join(json.Unmarshal([]byte(c.SecretData), &sec), json.Unmarshal([]byte(c.CredentialData), &data)); err != nil {
			return Record{}, fmt.Errorf("credential of type %q: bad secretData or credentialData", c.Type)
		}
		switch c.Type {
		case "password":
			h, err := keycloakHash(sec, data)
			if err != nil {
				return Record{}, err
			}
			r.PasswordHash = h
		case "otp":
			if data.SubType != "totp" || data.Digits != 6 || data.Period != 30 || data.Algorithm != "HmacSHA1" {
				return Record{}, errors.New("otp credential: only TOTP with HmacSHA1, 6 digits, 30 s can move")
			}
			// Keycloak keeps the seed as the text the app's key encodes.
			r.TOTPSecret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString([]byte(sec.Value))
		}
	}
	return r, nil
}

// keycloakHash writes a Keycloak password credential as the PHC string
// credential verifies.
func keycloakHash(sec keycloakCred, d keycloakCredData) (string, error) {
	salt, err1 := base64.StdEncoding.DecodeString(sec.Salt)
	key, err2 := base64.StdEncoding.DecodeString(sec.Value)
	if err1 != nil || err2 != nil {
		return "", errors.New("password credential: bad base64")
	}
	enc := base64.RawStdEncoding
	switch d.Algorithm {
	case "pbkdf2", "pbkdf2-sha256", "pbkdf2-sha512":
		return fmt.Sprintf("$%s$%d$%s$%s", d.Algorithm, d.HashIterations, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
	case "argon2":
		first := func(k, def string) string {
			if v := d.Additional[k]; len(v) > 0 {
				return v[0]
			}
			return def
		}
		variant := map[string]string{"id": "argon2id", "i": "argon2i"}[first("type", "id")]
		if variant == "" || first("version", "1.3") != "1.3" {
			return "", errors.New("password credential: unsupported argon2 variant")
		}
		return fmt.Sprintf("$%s$v=19$m=%s,t=%d,p=%s$%s$%s", variant, first("memory", "7168"), d.HashIterations,
			first("parallelism", "1"), enc.EncodeToString(salt), enc.EncodeToString(key)), nil
	}
	return "", fmt.Errorf("password credential: unsupported algorithm %q", d.Algorithm)
}

// firebaseUser is a user of a Firebase `auth:export --format=json` file.
type firebaseUser struct {
	LocalID        string `json:"localId"`
	Email          string `json:"email"`
	EmailVerified  bool   `json:"emailVerified"`
	PasswordHash   string `json:"passwordHash"`
	Salt           string `json:"salt"`
	DisplayName    string `json:"displayName"`
	PhotoURL       string `json:"photoUrl"`
	PhoneNumber    string `json:"phoneNumber"`
	Disabled       bool   `json:"disabled"`
	CreatedAt      string `json:"createdAt"`
	LastSignedInAt string `json:"lastSignedInAt"`
	CustomAttrs    string `json:"customAttributes"`
	Providers      []struct {
		ProviderID string `json:"providerId"`
		RawID      string `json:"rawId"`
		Email      string `json:"email"`
	} `json:"providerUserInfo"`
}

func parseFirebase(b []byte, p FirebaseParams) (Record, error) {
	var u firebaseUser
	if err := json.Unmarshal(b, &u); err != nil {
		return Record{}, fmt.Errorf("bad JSON: %w", err)
	}
	r := Record{ExternalID: u.LocalID, Email: u.Email, EmailVerified: u.EmailVerified, Phone: u.PhoneNumber,
		Disabled: u.Disabled}
	if u.PasswordHash != "" {
		h, err := credential.FirebaseHash(p.SignerKey, p.SaltSeparator, p.Rounds, p.MemCost, u.Salt, u.PasswordHash)
		if err != nil {
			return Record{}, errors.New("passwordHash: not a Firebase scrypt hash with the given parameters")
		}
		r.PasswordHash = h
	}
	attrs := map[string]any{}
	if u.DisplayName != "" {
		attrs["name"] = u.DisplayName
	}
	if u.PhotoURL != "" {
		attrs["picture"] = u.PhotoURL
	}
	if u.CustomAttrs != "" {
		var claims map[string]any
		if json.Unmarshal([]byte(u.CustomAttrs), &claims) == nil {
			attrs["firebase_claims"] = claims
		}
	}
	if len(attrs) > 0 {
		r.Attributes = attrs
	}
	for _, pr := range u.Providers {
		if pr.ProviderID == "password" || pr.ProviderID == "phone" || pr.RawID == "" {
			continue
		}
		r.Identities = append(r.Identities, Identity{Connection: pr.ProviderID, Subject: pr.RawID, Email: pr.Email})
	}
	var err1, err2 error
	r.CreatedAt, err1 = parseTime(u.CreatedAt)
	r.LastLoginAt, err2 = parseTime(u.LastSignedInAt)
	return r, errors.Join(err1, err2)
}
