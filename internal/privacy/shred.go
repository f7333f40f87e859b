// Package privacy serves data-subject rights: the crypto-shredding of the
// audit log (personal data of audit entries sealed under a per-user data
// key that erasure destroys), erasure with a legal hold, access and
// portability exports, the queue of data-subject requests and retention
// of inactive accounts. docs/privacy.md describes the model.
package privacy

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Erased replaces a sealed value whose data key was destroyed; Unreadable
// one that does not open (altered, or not made by a Shredder).
const (
	Erased     = "[erased]"
	Unreadable = "[unreadable]"
)

// tokenPrefix starts every sealed value in an audit entry:
// "ghs1:<user id>:<base64url of the ciphertext>". The user id names the
// key; the ciphertext is bound to tenant, entry id and field.
const tokenPrefix = "ghs1:"

// Shredder seals the personal data of audit entries under the data key of
// the person they are about, and opens it again for readers while that
// key exists. Safe for concurrent use.
type Shredder struct {
	// Master seals the data keys at rest.
	Master *seal.Sealer
	// Rand makes data keys and nonces; nil means crypto/rand.
	Rand io.Reader
}

var _ events.EntrySealer = (*Shredder)(nil)

// Subject is the user an entry's personal data belongs to: its target
// when that is a user, else its actor when that is a user signed in
// (self-service); "" when it is about no one (a client, a tenant).
func Subject(e *store.AuditEntry) string {
	switch {
	case e.TargetType == "user" && e.TargetID != "":
		return e.TargetID
	case e.ActorType == "user" && e.ActorID != "":
		return e.ActorID
	}
	return ""
}

func keyAAD(tenant store.TenantID, userID string) []byte {
	return []byte("privacy-key:" + string(tenant) + ":" + userID)
}

func valueAAD(tenant store.TenantID, entryID, field string) []byte {
	return []byte("audit:" + string(tenant) + ":" + entryID + ":" + field)
}

func (s *Shredder) rand() io.Reader {
	if s.Rand != nil {
		return s.Rand
	}
	return rand.Reader
}

// errErased: the user's key was destroyed.
var errErased = errors.New("privacy: data key erased")

// dataKey answers the user's data key as a Sealer, making one when create
// is set and there is none. errErased when the key was destroyed (or, with
// create unset, never made).
func (s *Shredder) dataKey(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string, create bool) (*seal.Sealer, error) {
	sealed, err := repos.Privacy().UserKey(ctx, tenant, userID)
	if errors.Is(err, store.ErrNotFound) && create {
		raw := make([]byte, seal.KeySize)
		if _, err := io.ReadFull(s.rand(), raw); err != nil {
			return nil, fmt.Errorf("privacy: data key: %w", err)
		}
		fresh, serr := s.Master.Seal(raw, keyAAD(tenant, userID))
		if serr != nil {
			return nil, serr
		}
		sealed, err = repos.Privacy().PutUserKey(ctx, tenant, userID, fresh)
	}
	if errors.Is(err, store.ErrNotFound) {
		return nil, errErased
	}
	if err != nil {
		return nil, err
	}
	raw, err := s.Master.Open(sealed, keyAAD(tenant, userID))
	if err != nil {
		return nil, fmt.Errorf("privacy: data key of a user does not open: %w", err)
	}
	return seal.New(raw, s.rand())
}

// EnsureKey makes the user's data key if it does not exist yet; user
// creation calls it so the key exists from the moment the user does.
func (s *Shredder) EnsureKey(ctx context.Context, repos store.Repos, tenant store.TenantID, userID string) error {
	_, err := s.dataKey(ctx, repos, tenant, userID, true)
	return err
}

// SealEntry seals e's client address and every value in its changes under
// the data key of e's Subject (made on first use). An entry about no one,
// or about an id already erased (its user.erased entry, which carries no
// personal data), is left as it is.
func (s *Shredder) SealEntry(ctx context.Context, repos store.Repos, e *store.AuditEntry) error {
	return s.sealEntry(ctx, repos, e, false)
}

// sealEntry is SealEntry; with onlyPlain, values that are sealed already
// stay as they are (the conversion of a chain partly written sealed).
func (s *Shredder) sealEntry(ctx context.Context, repos store.Repos, e *store.AuditEntry, onlyPlain bool) error {
	subject := Subject(e)
	if subject == "" || s.Master == nil {
		return nil
	}
	k, err := s.dataKey(ctx, repos, e.Tenant, subject, true)
	if errors.Is(err, errErased) {
		return nil
	}
	if err != nil {
		return err
	}
	sealOne := func(field string, plain []byte) (string, error) {
		ct, err := k.Seal(plain, valueAAD(e.Tenant, e.ID, field))
		if err != nil {
			return "", err
		}
		return tokenPrefix + subject + ":" + base64.RawURLEncoding.EncodeToString(ct), nil
	}
	if e.ClientIP != "" && !(onlyPlain && strings.HasPrefix(e.ClientIP, tokenPrefix)) {
		if e.ClientIP, err = sealOne("client_ip", []byte(e.ClientIP)); err != nil {
			return err
		}
	}
	changes, err := mapChanges(e.Changes, func(field string, v json.RawMessage) (json.RawMessage, error) {
		var str string
		if string(v) == "null" || onlyPlain && json.Unmarshal(v, &str) == nil && strings.HasPrefix(str, tokenPrefix) {
			return v, nil
		}
		tok, err := sealOne(field, v)
		if err != nil {
			return nil, err
		}
		return json.Marshal(tok)
	})
	if err != nil {
		return err
	}
	e.Changes = changes
	return nil
}

// mapChanges rewrites every value of a changes object through fn: each
// "before" and "after" of {"field": {"before": x, "after": y}}, and a
// field's whole value when it has another shape. fn's field is
// "changes.<name>.<before|after>" (or "changes.<name>"), which binds a
// ciphertext to its place. Anything that is not a JSON object is returned
// unchanged.
func mapChanges(raw json.RawMessage, fn func(field string, v json.RawMessage) (json.RawMessage, error)) (json.RawMessage, error) {
	var fields map[string]json.RawMessage
	if len(raw) == 0 || json.Unmarshal(raw, &fields) != nil || len(fields) == 0 {
		return raw, nil
	}
	out := make(map[string]json.RawMessage, len(fields))
	for name, v := range fields {
		var ch map[string]json.RawMessage
		if json.Unmarshal(v, &ch) == nil && len(ch) > 0 && len(ch) <= 2 && hasOnly(ch, "before", "after") {
			for side, sv := range ch {
				nv, err := fn("changes."+name+"."+side, sv)
				if err != nil {
					return nil, err
				}
				ch[side] = nv
			}
			b, err := json.Marshal(ch)
			if err != nil {
				return nil, err
			}
			out[name] = b
			continue
		}
		nv, err := fn("changes."+name, v)
		if err != nil {
			return nil, err
		}
		out[name] = nv
	}
	// encoding/json sorts map keys, so the result is deterministic.
	return json.Marshal(out)
}

func hasOnly(m map[string]json.RawMessage, keys ...string) bool {
	for k := range m {
		found := false
		for _, want := range keys {
			found = found || k == want
		}
		if !found {
			return false
		}
	}
	return true
}

// Open replaces, in place, every sealed value of es with what it seals,
// or with Erased when the person's key was destroyed (Unreadable when it
// does not open). Opened entries are for display: their hashes cover the
// sealed form, which Verify reads from the store.
func (s *Shredder) Open(ctx context.Context, repos store.Repos, es []store.AuditEntry) error {
	keys := map[string]*seal.Sealer{}
	for i := range es {
		if err := s.openEntry(ctx, repos, &es[i], keys); err != nil {
			return err
		}
	}
	return nil
}

func (s *Shredder) openEntry(ctx context.Context, repos store.Repos, e *store.AuditEntry, keys map[string]*seal.Sealer) error {
	open := func(field, tok string) (json.RawMessage, bool, error) {
		rest, ok := strings.CutPrefix(tok, tokenPrefix)
		if !ok {
			return nil, false, nil
		}
		userID, b64, ok := strings.Cut(rest, ":")
		ct, derr := base64.RawURLEncoding.DecodeString(b64)
		if !ok || derr != nil || s.Master == nil {
			return json.RawMessage(`"` + Unreadable + `"`), true, nil
		}
		k, known := keys[userID]
		if !known {
			var err error
			k, err = s.dataKey(ctx, repos, e.Tenant, userID, false)
			if err != nil && !errors.Is(err, errErased) {
				return nil, false, err
			}
			keys[userID] = k // nil when erased
		}
		if k == nil {
			return json.RawMessage(`"` + Erased + `"`), true, nil
		}
		pt, err := k.Open(ct, valueAAD(e.Tenant, e.ID, field))
		if err != nil {
			return json.RawMessage(`"` + Unreadable + `"`), true, nil
		}
		return pt, true, nil
	}
	if v, ok, err := open("client_ip", e.ClientIP); err != nil {
		return err
	} else if ok {
		var ip string
		if json.Unmarshal(v, &ip) != nil {
			ip = string(v)
		}
		e.ClientIP = ip
	}
	changes, err := mapChanges(e.Changes, func(field string, v json.RawMessage) (json.RawMessage, error) {
		var tok string
		if json.Unmarshal(v, &tok) != nil {
			return v, nil
		}
		pt, ok, err := open(field, tok)
		if err != nil || !ok {
			return v, err
		}
		return pt, nil
	})
	if err != nil {
		return err
	}
	e.Changes = changes
	return nil
}
