package userimport

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxLine bounds one JSONL record and one CSV row.
const maxLine = 1 << 20

// csvDialect maps a CSV header's columns onto a record.
type csvDialect struct {
	name    string
	columns map[string]func(r *Record, v string) error
	// key is the column that must be present.
	key string
}

func text(set func(r *Record, v string)) func(*Record, string) error {
	return func(r *Record, v string) error { set(r, v); return nil }
}

// ourCSV is the documented CSV of docs/migration.md.
var ourCSV = csvDialect{name: "csv", key: "email", columns: map[string]func(*Record, string) error{
	"external_id": text(func(r *Record, v string) { r.ExternalID = v }),
	"email":       text(func(r *Record, v string) { r.Email = v }),
	"email_verified": func(r *Record, v string) (err error) {
		r.EmailVerified, err = parseBool("email_verified", v)
		return err
	},
	"username":      text(func(r *Record, v string) { r.Username = v }),
	"given_name":    text(func(r *Record, v string) { r.GivenName = v }),
	"family_name":   text(func(r *Record, v string) { r.FamilyName = v }),
	"phone":         text(func(r *Record, v string) { r.Phone = v }),
	"password_hash": text(func(r *Record, v string) { r.PasswordHash = v }),
	"groups":        text(func(r *Record, v string) { r.Groups = splitList(v) }),
	"roles":         text(func(r *Record, v string) { r.Roles = splitList(v) }),
	"totp_secret":   text(func(r *Record, v string) { r.TOTPSecret = v }),
	"created_at": func(r *Record, v string) (err error) {
		r.CreatedAt, err = parseTime(v)
		return err
	},
	"last_login_at": func(r *Record, v string) (err error) {
		r.LastLoginAt, err = parseTime(v)
		return err
	},
}}

// cognitoCSV is the header of Amazon Cognito's user import CSV (the file
// GetCSVHeader describes). Cognito never exports password hashes: these
// users set a password by recovery or through lazy migration.
var cognitoCSV = csvDialect{name: "cognito", key: "cognito:username", columns: map[string]func(*Record, string) error{
	"cognito:username":   text(func(r *Record, v string) { r.ExternalID = v }),
	"preferred_username": text(func(r *Record, v string) { r.Username = v }),
	"email":              text(func(r *Record, v string) { r.Email = v }),
	"email_verified": func(r *Record, v string) (err error) {
		r.EmailVerified, err = parseBool("email_verified", v)
		return err
	},
	"given_name":   text(func(r *Record, v string) { r.GivenName = v }),
	"family_name":  text(func(r *Record, v string) { r.FamilyName = v }),
	"phone_number": text(func(r *Record, v string) { r.Phone = v }),
	"phone_number_verified": func(r *Record, v string) (err error) {
		r.PhoneVerified, err = parseBool("phone_number_verified", v)
		return err
	},
	"locale": text(func(r *Record, v string) { r.Locale = v }),
	"name":   attr("name"), "middle_name": attr("middle_name"), "nickname": attr("nickname"),
	"profile": attr("profile"), "picture": attr("picture"), "website": attr("website"),
	"gender": attr("gender"), "birthdate": attr("birthdate"), "zoneinfo": attr("zoneinfo"),
	"address": attr("address"), "updated_at": attr("updated_at"),
	"cognito:mfa_enabled": attr("cognito_mfa_enabled"),
}}

// attr keeps a column without a field of its own as an attribute.
func attr(name string) func(*Record, string) error {
	return func(r *Record, v string) error {
		if v != "" {
			if r.Attributes == nil {
				r.Attributes = map[string]any{}
			}
			r.Attributes[name] = v
		}
		return nil
	}
}

type csvSource struct {
	r    *csv.Reader
	cols []func(*Record, string) error
}

func newCSV(r io.Reader, d csvDialect) (Source, error) {
	cr := csv.NewReader(bufio.NewReaderSize(r, 1<<16))
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: reading the header: %w", d.name, err)
	}
	cols := make([]func(*Record, string) error, len(header))
	seen := map[string]bool{}
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		set, ok := d.columns[h]
		if !ok || seen[h] {
			return nil, fmt.Errorf("%s: unknown or repeated column %q in the header", d.name, h)
		}
		seen[h], cols[i] = true, set
	}
	if !seen[d.key] {
		return nil, fmt.Errorf("%s: the header needs a %q column", d.name, d.key)
	}
	cr.FieldsPerRecord = len(header)
	return &csvSource{r: cr, cols: cols}, nil
}

func (s *csvSource) Next() (Record, error) {
	row, err := s.r.Read()
	line, _ := s.r.FieldPos(0)
	var pe *csv.ParseError
	switch {
	case err == io.EOF:
		return Record{}, io.EOF
	case errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount):
		return Record{}, &RecordError{Line: int64(pe.StartLine), Err: errors.New("wrong number of fields")}
	case err != nil:
		return Record{}, err
	}
	rec := Record{Line: int64(line)}
	for i, v := range row {
		if len(v) > maxLine {
			return Record{}, &RecordError{Line: rec.Line, Err: errors.New("field too long")}
		}
		if err := s.cols[i](&rec, v); err != nil {
			return Record{}, &RecordError{Line: rec.Line, Err: err}
		}
	}
	return rec, nil
}

// lineSource reads one JSON object per line (JSONL, Auth0's NDJSON).
type lineSource struct {
	sc    *bufio.Scanner
	line  int64
	parse func([]byte) (Record, error)
}

func newLines(r io.Reader, parse func([]byte) (Record, error)) Source {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), maxLine)
	return &lineSource{sc: sc, parse: parse}
}

func (s *lineSource) Next() (Record, error) {
	for s.sc.Scan() {
		s.line++
		b := bytes.TrimSpace(s.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rec, err := s.parse(b)
		if err != nil {
			return Record{}, &RecordError{Line: s.line, Err: err}
		}
		rec.Line = s.line
		return rec, nil
	}
	if err := s.sc.Err(); err != nil {
		return Record{}, fmt.Errorf("line %d: %w", s.line+1, err)
	}
	return Record{}, io.EOF
}

// docSource streams the elements of the "users" array of one JSON
// document (a Keycloak realm export, a Firebase auth:export file), or of a
// document that is itself that array.
type docSource struct {
	dec   *json.Decoder
	n     int64
	parse func([]byte) (Record, error)
	done  bool
}

func newDoc(r io.Reader, parse func([]byte) (Record, error)) (Source, error) {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	tok, err := dec.Token()
	if err != nil {
		return nil, fmt.Errorf("reading the document: %w", err)
	}
	switch tok {
	case json.Delim('['):
		return &docSource{dec: dec, parse: parse}, nil
	case json.Delim('{'):
	default:
		return nil, errors.New("the document is neither an object nor an array")
	}
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("reading the document: %w", err)
		}
		if key == "users" {
			if tok, err := dec.Token(); err != nil || tok != json.Delim('[') {
				return nil, errors.New(`"users" is not an array`)
			}
			return &docSource{dec: dec, parse: parse}, nil
		}
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			return nil, fmt.Errorf("reading the document: %w", err)
		}
	}
	return nil, errors.New(`the document has no "users" array`)
}

func (s *docSource) Next() (Record, error) {
	if s.done || !s.dec.More() {
		s.done = true
		return Record{}, io.EOF
	}
	var raw json.RawMessage
	if err := s.dec.Decode(&raw); err != nil {
		return Record{}, fmt.Errorf("record %d: %w", s.n+1, err)
	}
	s.n++
	rec, err := s.parse(raw)
	if err != nil {
		return Record{}, &RecordError{Line: s.n, Err: err}
	}
	rec.Line = s.n
	return rec, nil
}

// ourJSON is a JSONL line: the CSV's names as keys, lists as arrays.
type ourJSON struct {
	ExternalID    string         `json:"external_id"`
	Email         string         `json:"email"`
	EmailVerified bool           `json:"email_verified"`
	Username      string         `json:"username"`
	GivenName     string         `json:"given_name"`
	FamilyName    string         `json:"family_name"`
	Phone         string         `json:"phone,omitempty"`
	PasswordHash  string         `json:"password_hash,omitempty"`
	Groups        []string       `json:"groups,omitempty"`
	Roles         []string       `json:"roles,omitempty"`
	CreatedAt     string         `json:"created_at,omitempty"`
	LastLoginAt   string         `json:"last_login_at,omitempty"`
	Disabled      bool           `json:"disabled,omitempty"`
	Attributes    map[string]any `json:"attributes,omitempty"`
	TOTPSecret    string         `json:"totp_secret,omitempty"`
	Identities    []Identity     `json:"identities,omitempty"`
}

func parseOurJSON(b []byte) (Record, error) {
	var j ourJSON
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&j); err != nil {
		return Record{}, fmt.Errorf("bad JSON: %w", err)
	}
	r := Record{ExternalID: j.ExternalID, Email: j.Email, EmailVerified: j.EmailVerified, Username: j.Username,
		GivenName: j.GivenName, FamilyName: j.FamilyName, Phone: j.Phone, PasswordHash: j.PasswordHash,
		Groups: j.Groups, Roles: j.Roles, Disabled: j.Disabled, Attributes: j.Attributes,
		TOTPSecret: j.TOTPSecret, Identities: j.Identities}
	var err1, err2 error
	r.CreatedAt, err1 = parseTime(j.CreatedAt)
	r.LastLoginAt, err2 = parseTime(j.LastLoginAt)
	return r, errors.Join(err1, err2)
}
