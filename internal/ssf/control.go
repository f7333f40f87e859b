package ssf

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Status is a stream's status (SSF 1.0 section 8.1.2).
type Status struct {
	StreamID string `json:"stream_id"`
	Status   string `json:"status"`
	Reason   string `json:"reason,omitempty"`
}

func (t *Transmitter) readStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	s, err := t.streamParam(r, c)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, Status{StreamID: s.ID, Status: s.Status, Reason: s.StatusReason})
	return nil
}

func (t *Transmitter) updateStatus(w http.ResponseWriter, r *http.Request, c *call) error {
	var in Status
	if err := httpx.DecodeJSON(w, r, maxBodyBytes, &in); err != nil {
		return err
	}
	switch {
	case in.StreamID == "":
		return invalid("stream_id", "required", "Name the stream in stream_id.")
	case in.Status != store.SSFEnabled && in.Status != store.SSFPaused && in.Status != store.SSFDisabled:
		return invalid("status", "invalid", "Use enabled, paused or disabled.")
	case len(in.Reason) > maxDescriptionLength:
		return invalid("reason", "too_long", "A reason has at most 500 characters.")
	}
	var out *store.SSFStream
	err := t.store.InTx(r.Context(), func(tx store.Repos) error {
		var before string
		s, err := tx.SSF().UpdateSSFStream(r.Context(), c.tenant.ID, in.StreamID, func(s *store.SSFStream) error {
			before, s.Status, s.StatusReason = s.Status, in.Status, in.Reason
			return nil
		})
		if err != nil {
			return err
		}
		out = s
		return t.audit(r.Context(), tx, c, "ssf.stream.status", s.ID, map[string]any{"status": before}, map[string]any{"status": s.Status})
	})
	if err != nil {
		return err
	}
	// A resumed push stream sends what it held while paused, in the
	// background so the receiver's call does not wait on its own endpoint.
	if out.Method == store.SSFPush && out.Status == store.SSFEnabled {
		go func() {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 2*PushTimeout)
			defer cancel()
			_ = t.flush(ctx, out)
		}()
	}
	httpx.WriteJSON(w, http.StatusOK, Status{StreamID: out.ID, Status: out.Status, Reason: out.StatusReason})
	return nil
}

// subjectIn is an add or remove subject request (SSF 1.0 sections 8.1.3).
type subjectIn struct {
	StreamID string          `json:"stream_id"`
	Subject  json.RawMessage `json:"subject"`
	Verified *bool           `json:"verified"`
}

// subjectKey checks a subject and answers its key: email (normalised
// address) or iss_sub with this tenant's issuer (sub is the user id).
// Whether the subject is a user of the tenant is not told.
func (t *Transmitter) subjectKey(raw json.RawMessage, slug string) (string, error) {
	var s map[string]string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", invalid("subject", "invalid", "A subject is an object of strings with a format member.")
	}
	switch s["format"] {
	case "email":
		e := s["email"]
		if len(s) != 2 || e == "" || len(e) > 320 || !strings.Contains(e, "@") {
			return "", invalid("subject.email", "invalid", "An email subject is {\"format\":\"email\",\"email\":\"...\"}.")
		}
		return emailKey(directory.NormalizeEmail(e)), nil
	case "iss_sub":
		if len(s) != 3 || s["iss"] != t.Issuer(slug) {
			return "", invalid("subject.iss", "invalid", "An iss_sub subject names this transmitter's issuer.")
		}
		if sub := s["sub"]; sub == "" || len(sub) > 128 {
			return "", invalid("subject.sub", "invalid", "sub is the user's id.")
		}
		return issSubKey(s["sub"]), nil
	}
	return "", invalid("subject.format", "invalid", "Subject formats are email and iss_sub.")
}

func (t *Transmitter) subjectRequest(w http.ResponseWriter, r *http.Request, c *call) (*store.SSFStream, string, json.RawMessage, error) {
	var in subjectIn
	if err := httpx.DecodeJSON(w, r, maxBodyBytes, &in); err != nil {
		return nil, "", nil, err
	}
	if in.StreamID == "" {
		return nil, "", nil, invalid("stream_id", "required", "Name the stream in stream_id.")
	}
	key, err := t.subjectKey(in.Subject, c.tenant.Slug)
	if err != nil {
		return nil, "", nil, err
	}
	s, err := t.store.SSF().GetSSFStream(r.Context(), c.tenant.ID, in.StreamID)
	if err != nil {
		return nil, "", nil, err
	}
	return s, key, in.Subject, nil
}

func (t *Transmitter) addSubject(w http.ResponseWriter, r *http.Request, c *call) error {
	s, key, subject, err := t.subjectRequest(w, r, c)
	if err != nil {
		return err
	}
	err = t.store.InTx(r.Context(), func(tx store.Repos) error {
		n, err := tx.SSF().CountSSFSubjects(r.Context(), c.tenant.ID, s.ID)
		if err != nil {
			return err
		}
		if n >= MaxSubjects {
			return httpx.NewProblem(http.StatusConflict, "too-many-subjects", "Too many subjects",
				"A stream has at most 100000 subjects.")
		}
		if err := tx.SSF().AddSSFSubject(r.Context(), c.tenant.ID, s.ID, key, subject, t.now()); err != nil {
			return err
		}
		return t.audit(r.Context(), tx, c, "ssf.subject.add", s.ID, nil, map[string]any{"format": formatOf(key)})
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (t *Transmitter) removeSubject(w http.ResponseWriter, r *http.Request, c *call) error {
	s, key, _, err := t.subjectRequest(w, r, c)
	if err != nil {
		return err
	}
	err = t.store.InTx(r.Context(), func(tx store.Repos) error {
		if err := tx.SSF().RemoveSSFSubject(r.Context(), c.tenant.ID, s.ID, key); err != nil {
			return err
		}
		return t.audit(r.Context(), tx, c, "ssf.subject.remove", s.ID, map[string]any{"format": formatOf(key)}, nil)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func formatOf(key string) string {
	f, _, _ := strings.Cut(key, ":")
	return f
}

// verifyIn is a verification request (SSF 1.0 section 8.1.4).
type verifyIn struct {
	StreamID string `json:"stream_id"`
	State    string `json:"state"`
}

// verify queues a verification event for the stream (sub_id: the stream,
// opaque) and, for push, sends it before answering 204.
func (t *Transmitter) verify(w http.ResponseWriter, r *http.Request, c *call) error {
	var in verifyIn
	if err := httpx.DecodeJSON(w, r, maxBodyBytes, &in); err != nil {
		return err
	}
	if in.StreamID == "" {
		return invalid("stream_id", "required", "Name the stream in stream_id.")
	}
	if len(in.State) > 256 {
		return invalid("state", "too_long", "state has at most 256 characters.")
	}
	s, err := t.store.SSF().GetSSFStream(r.Context(), c.tenant.ID, in.StreamID)
	if err != nil {
		return err
	}
	if s.Status != store.SSFEnabled {
		return httpx.NewProblem(http.StatusConflict, "stream-not-enabled", "Stream not enabled",
			"Only an enabled stream sends verification events.")
	}
	payload := map[string]any{}
	if in.State != "" {
		payload["state"] = in.State
	}
	tok, jti, err := t.sign(r.Context(), c.tenant.ID, c.tenant.Slug, s.Audience, "",
		map[string]string{"format": "opaque", "id": s.ID}, Verification, payload)
	if err != nil {
		return err
	}
	if _, err := t.store.SSF().PutSSFSet(r.Context(), &store.SSFSet{Tenant: c.tenant.ID, StreamID: s.ID, JTI: jti,
		EventID: jti, Token: tok, CreatedAt: t.now()}); err != nil {
		return err
	}
	if s.Method == store.SSFPush {
		if err := t.flush(r.Context(), s); err != nil && err != errPushFailed {
			return err
		}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
