package profileschema

import "slices"

// When the login asks for a field (the profile step): a field is due when
// its requirement holds and the user's attributes hold no value for it.
//
//   - signup: from the first sign-in on (the one that follows sign-up);
//   - login:N: from the Nth sign-in on, counting sign-ins where the user
//     authenticated (a reused SSO session does not count);
//   - client:<id>: whenever that client asks for a login;
//   - scope:<scope>: whenever a login requests that scope.
//
// A due field may be skipped while the user has skipped it fewer times
// than its SkipLimit; after that it is mandatory and the login waits for
// it. A field skipped at a sign-in is not asked again until the next one.

// Skip is what a user did with one field: how often they skipped it, and
// at which sign-in (its number) they last did.
type Skip struct {
	N  int `json:"n"`
	At int `json:"at"`
}

// Situation is the login the profile step looks at.
type Situation struct {
	// SignIns is the user's number of sign-ins, this one included.
	SignIns  int
	ClientID string
	Scopes   []string
	Skips    map[string]Skip
	Attrs    map[string]any
}

// Prompt is a due field and whether the user may skip it.
type Prompt struct {
	Field     Field
	Mandatory bool
}

// Applies reports whether f's requirement holds for the situation
// (whatever its value).
func (f Field) Applies(s Situation) bool {
	req, err := ParseRequiredAt(f.RequiredAt)
	if err != nil {
		return false
	}
	switch req.Kind {
	case "signup":
		return s.SignIns >= 1
	case "login":
		return s.SignIns >= req.Login
	case "client":
		return s.ClientID != "" && s.ClientID == req.Value
	case "scope":
		return slices.Contains(s.Scopes, req.Value)
	}
	return false
}

// Due answers the fields the login asks for now, in schema order.
func (sc Schema) Due(s Situation) []Prompt {
	var out []Prompt
	for _, f := range sc.Fields {
		if !f.Applies(s) || Present(f, s.Attrs) {
			continue
		}
		sk := s.Skips[f.Name]
		if sk.N > 0 && sk.At == s.SignIns {
			continue // skipped at this sign-in already
		}
		out = append(out, Prompt{Field: f, Mandatory: sk.N >= f.SkipLimit()})
	}
	return out
}
