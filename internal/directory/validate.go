package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/gatehouse-id/gatehouse/internal/ident"
	"github.com/gatehouse-id/gatehouse/internal/valid"
	"golang.org/x/text/language"
	"golang.org/x/text/secure/precis"
	"golang.org/x/text/unicode/norm"
)

// Input bounds. Everything from the network is bounded before it is stored.
const (
	maxEmail      = 254
	maxName       = 100
	maxAttrBytes  = 16 << 10
	maxAttrDepth  = 8
	maxAttrKey    = 64
	maxGroupName  = 100
	maxUsername   = 128 // characters
	maxGroupDescr = 1000
)

var (
	// usernameRE is a username's characters; checkUsername bounds its
	// length apart (a counted repetition, {1,127}, of these Unicode
	// classes compiles to a program of megabytes, kept for the process's
	// life). '@' is allowed because provisioning clients send user
	// principal names (alice@contoso.com) as usernames.
	usernameRE = regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}._@-]+$`)
	phoneRE    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
)

// NormalizeEmail is the lookup form of an email: NFKC, trimmed, lower case.
func NormalizeEmail(s string) string {
	return strings.ToLower(norm.NFKC.String(strings.TrimSpace(s)))
}

// NormalizeUsername is the lookup form of a username: the PRECIS
// UsernameCaseMapped profile of RFC 8265 (full-width folded, case folded,
// NFC). A string the profile refuses is never accepted as a new username;
// its lookup form is NFKC in lower case, so a login with it matches
// nothing new.
func NormalizeUsername(s string) string {
	s = strings.TrimSpace(s)
	if p, err := precis.UsernameCaseMapped.String(s); err == nil {
		return p
	}
	return strings.ToLower(norm.NFKC.String(s))
}

func checkEmail(c *valid.Collector, field, s string) {
	switch {
	case s == "":
		c.Add(field, "required", "An email address is required.")
		return
	case len(s) > maxEmail:
		c.Add(field, "too_long", "An email address has at most 254 characters.")
		return
	}
	a, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || a.Name != "" || a.Address != s || at < 1 || at > 64 ||
		!strings.Contains(s[at+1:], ".") || strings.ContainsAny(s, " \t\r\n<>") {
		c.Add(field, "invalid", "This is not a valid email address.")
	}
}

// checkNewEmail is checkEmail plus the rules for an address being set:
// no character that renders as nothing or reorders the text, and no part
// that mixes letters of scripts not written together, since either makes
// an address that reads as someone else's.
func checkNewEmail(c *valid.Collector, field, s string) {
	var own valid.Collector
	checkEmail(&own, field, s)
	if err := own.Err(); err != nil {
		c.Add(field, err.(*valid.Error).Fields[0].Code, err.(*valid.Error).Fields[0].Message)
		return
	}
	if ident.Invisible(s) {
		c.Add(field, "invalid", "An email address cannot contain invisible or text-direction characters.")
		return
	}
	at := strings.LastIndexByte(s, '@')
	for _, part := range append([]string{s[:at]}, strings.Split(s[at+1:], ".")...) {
		if ident.MixedScript(part) {
			c.Add(field, "mixed_script", "An email address cannot mix letters of different scripts (such as Latin and Cyrillic) in one part.")
			return
		}
	}
}

func checkUsername(c *valid.Collector, s string) {
	if n := utf8.RuneCountInString(s); s != "" && (n > maxUsername || !usernameRE.MatchString(s)) {
		c.Add("username", "invalid", "A username has 2 to 128 letters, digits, dots, dashes, underscores or @ and starts with a letter or digit.")
	}
}

// checkNewUsername is checkUsername plus the rules for a username being
// set: the PRECIS IdentifierClass of RFC 8265 and no mixed scripts.
func checkNewUsername(c *valid.Collector, s string) {
	var own valid.Collector
	checkUsername(&own, s)
	switch {
	case s == "":
	case own.Err() != nil:
		checkUsername(c, s)
	case ident.Invisible(s):
		c.Add("username", "invalid", "A username cannot contain invisible or text-direction characters.")
	case ident.MixedScript(s):
		c.Add("username", "mixed_script", "A username cannot mix letters of different scripts (such as Latin and Cyrillic).")
	default:
		if _, err := precis.UsernameCaseMapped.String(s); err != nil {
			c.Add("username", "invalid", "A username has only letters, digits and printable ASCII symbols (RFC 8265).")
		}
	}
}

func checkText(c *valid.Collector, field, s string, max int) {
	if utf8.RuneCountInString(s) > max {
		c.Add(field, "too_long", "This field is too long.")
		return
	}
	if !utf8.ValidString(s) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		c.Add(field, "invalid", "This field contains control characters.")
	}
}

func checkPhone(c *valid.Collector, s string) {
	if s != "" && !phoneRE.MatchString(s) {
		c.Add("phone", "invalid", "A phone number is in E.164 form, such as +14155550123.")
	}
}

func checkLocale(c *valid.Collector, s string) {
	if s == "" {
		return
	}
	if len(s) > 35 {
		c.Add("locale", "invalid", "A locale is a BCP 47 language tag such as en-GB.")
		return
	}
	if _, err := language.Parse(s); err != nil {
		c.Add("locale", "invalid", "A locale is a BCP 47 language tag such as en-GB.")
	}
}

// checkAttributes requires a JSON object within size, depth and key bounds.
func checkAttributes(c *valid.Collector, raw json.RawMessage) {
	if len(raw) == 0 {
		return
	}
	if len(raw) > maxAttrBytes {
		c.Add("attributes", "too_long", "Attributes take at most 16 KiB of JSON.")
		return
	}
	v, err := decodeOne(raw)
	if err != nil {
		c.Add("attributes", "invalid", "Attributes must be a JSON object.")
		return
	}
	if _, ok := v.(map[string]any); !ok {
		c.Add("attributes", "invalid", "Attributes must be a JSON object.")
		return
	}
	if msg := walkAttr(v, 1); msg != "" {
		c.Add("attributes", "invalid", msg)
	}
}

func walkAttr(v any, depth int) string {
	if depth > maxAttrDepth {
		return "Attributes nest at most 8 levels deep."
	}
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			if k == "" || len(k) > maxAttrKey {
				return "Attribute names have 1 to 64 characters."
			}
			if m := walkAttr(e, depth+1); m != "" {
				return m
			}
		}
	case []any:
		for _, e := range t {
			if m := walkAttr(e, depth+1); m != "" {
				return m
			}
		}
	}
	return ""
}

// decodeOne decodes exactly one JSON value. Numbers stay json.Number, so
// they survive a decode and re-encode digit for digit (float64 would turn
// 9007199254740993 into 9007199254740992).
func decodeOne(raw []byte) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

// mergePatch applies an RFC 7396 JSON merge patch to a JSON object.
func mergePatch(doc, patch json.RawMessage) (json.RawMessage, error) {
	if len(doc) == 0 {
		doc = json.RawMessage("{}")
	}
	d, err := decodeOne(doc)
	if err != nil {
		return nil, err
	}
	p, err := decodeOne(patch)
	if err != nil {
		return nil, err
	}
	return json.Marshal(merge(d, p))
}

func merge(doc, patch any) any {
	pm, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	dm, ok := doc.(map[string]any)
	if !ok {
		dm = map[string]any{}
	}
	for k, v := range pm {
		if v == nil {
			delete(dm, k)
		} else {
			dm[k] = merge(dm[k], v)
		}
	}
	return dm
}

// ValidEmail reports whether s is an email address a user may have (the
// account page checks a new address before sending it a link).
func ValidEmail(s string) bool {
	var c valid.Collector
	checkNewEmail(&c, "email", s)
	return c.Err() == nil
}
