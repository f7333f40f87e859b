package ssf

import (
	"context"
	"encoding/json"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// StreamConfig is a stream's configuration as receivers see it (SSF 1.0
// section 8.1.1). The receiver's authorization_header is write-only.
type StreamConfig struct {
	StreamID                string    `json:"stream_id"`
	Issuer                  string    `json:"iss"`
	Audience                string    `json:"aud"`
	EventsSupported         []string  `json:"events_supported"`
	EventsRequested         []string  `json:"events_requested"`
	EventsDelivered         []string  `json:"events_delivered"`
	Delivery                *Delivery `json:"delivery"`
	MinVerificationInterval int       `json:"min_verification_interval"`
	Description             string    `json:"description,omitempty"`
}

// Delivery is a stream's delivery method. For push, EndpointURL is the
// receiver's; for poll it is ours.
type Delivery struct {
	Method              string `json:"method"`
	EndpointURL         string `json:"endpoint_url,omitempty"`
	AuthorizationHeader string `json:"authorization_header,omitempty"`
}

// streamIn is a create or update request. The transmitter-supplied
// members are accepted (a receiver may send back what it read) and
// ignored.
type streamIn struct {
	StreamID                string          `json:"stream_id"`
	Issuer                  json.RawMessage `json:"iss"`
	Audience                json.RawMessage `json:"aud"`
	EventsSupported         json.RawMessage `json:"events_supported"`
	EventsDelivered         json.RawMessage `json:"events_delivered"`
	MinVerificationInterval json.RawMessage `json:"min_verification_interval"`
	InactivityTimeout       json.RawMessage `json:"inactivity_timeout"`
	EventsRequested         *[]string       `json:"events_requested"`
	Delivery                *Delivery       `json:"delivery"`
	Description             *string         `json:"description"`
}

func (t *Transmitter) config(slug string, s *store.SSFStream) StreamConfig {
	d := &Delivery{Method: s.Method, EndpointURL: s.EndpointURL}
	if s.Method == store.SSFPoll {
		d.EndpointURL = t.Issuer(slug) + pathPoll + s.ID
	}
	return StreamConfig{StreamID: s.ID, Issuer: t.Issuer(slug), Audience: s.Audience,
		EventsSupported: Supported, EventsRequested: nonNil(s.EventsRequested), EventsDelivered: nonNil(s.EventsDelivered),
		Delivery: d, Description: s.Description}
}

func nonNil(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}

// apply checks in and writes it onto s; replace (PUT) resets what in
// leaves out.
func (t *Transmitter) apply(s *store.SSFStream, in *streamIn, replace bool) error {
	var c valid.Collector
	if in.EventsRequested != nil || replace {
		var req []string
		if in.EventsRequested != nil {
			req = *in.EventsRequested
		}
		if len(req) > maxEventsRequested {
			c.Add("events_requested", "too_many", "At most 50 event types.")
		}
		var out []string
		for _, e := range req {
			if len(e) > maxEventURIBytes || e == "" {
				c.Add("events_requested", "invalid", "An event type is a URI of at most 256 bytes.")
				break
			}
			if !slices.Contains(out, e) {
				out = append(out, e)
			}
		}
		s.EventsRequested = out
		s.EventsDelivered = nil
		for _, e := range Supported {
			if slices.Contains(out, e) {
				s.EventsDelivered = append(s.EventsDelivered, e)
			}
		}
	}
	if in.Description != nil || replace {
		d := ""
		if in.Description != nil {
			d = *in.Description
		}
		if len(d) > maxDescriptionLength {
			c.Add("description", "too_long", "A description has at most 500 characters.")
		}
		s.Description = d
	}
	if in.Delivery == nil && (replace || s.Method == "") {
		in.Delivery = &Delivery{Method: store.SSFPoll}
	}
	if d := in.Delivery; d != nil {
		switch d.Method {
		case store.SSFPoll:
			if d.AuthorizationHeader != "" {
				c.Add("delivery.authorization_header", "invalid", "Poll streams take no authorization header.")
			}
			// endpoint_url is ours for poll: a value sent back is ignored.
			s.Method, s.EndpointURL, s.SealedAuth = store.SSFPoll, "", nil
		case store.SSFPush:
			if d.EndpointURL == "" {
				c.Add("delivery.endpoint_url", "required", "A push stream needs the receiver's endpoint_url.")
			} else if msg := t.urls.Check(d.EndpointURL); msg != "" {
				c.Add("delivery.endpoint_url", "invalid", msg)
			} else if !t.dialable(d.EndpointURL) {
				c.Add("delivery.endpoint_url", "invalid", "The address is private, loopback or link-local: pushes could not reach it.")
			}
			if len(d.AuthorizationHeader) > maxAuthHeaderBytes || strings.ContainsAny(d.AuthorizationHeader, "\r\n\x00") {
				c.Add("delivery.authorization_header", "invalid", "At most 4096 bytes on one line.")
			}
			if err := c.Err(); err != nil {
				return err
			}
			s.Method, s.EndpointURL, s.SealedAuth = store.SSFPush, d.EndpointURL, nil
			if d.AuthorizationHeader != "" {
				sealed, err := t.sealer.Seal([]byte(d.AuthorizationHeader), authAAD(s.Tenant, s.ID))
				if err != nil {
					return err
				}
				s.SealedAuth = sealed
			}
		default:
			c.Add("delivery.method", "invalid", "Use urn:ietf:rfc:8935 (push) or urn:ietf:rfc:8936 (poll).")
		}
	}
	return c.Err()
}

func (t *Transmitter) createStream(w http.ResponseWriter, r *http.Request, c *call) error {
	var in streamIn
	if err := httpx.DecodeJSON(w, r, maxBodyBytes, &in); err != nil {
		return err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	s := &store.SSFStream{Tenant: c.tenant.ID, ID: id.String(), Status: store.SSFEnabled}
	s.Audience = t.Issuer(c.tenant.Slug) + "/ssf/streams/" + s.ID
	if err := t.apply(s, &in, false); err != nil {
		return err
	}
	err = t.store.InTx(r.Context(), func(tx store.Repos) error {
		list, err := tx.SSF().ListSSFStreams(r.Context(), c.tenant.ID, MaxStreams+1)
		if err != nil {
			return err
		}
		if len(list) >= MaxStreams {
			return httpx.NewProblem(http.StatusConflict, "too-many-streams", "Too many streams",
				"A tenant has at most 25 streams; delete one first.")
		}
		if err := tx.SSF().CreateSSFStream(r.Context(), s); err != nil {
			return err
		}
		return t.audit(r.Context(), tx, c, "ssf.stream.create", s.ID, nil, streamFields(s))
	})
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, t.config(c.tenant.Slug, s))
	return nil
}

// streamFields is what the audit log records of a stream (never the
// authorization header).
func streamFields(s *store.SSFStream) map[string]any {
	return map[string]any{"method": s.Method, "endpoint_url": s.EndpointURL, "events_requested": s.EventsRequested,
		"description": s.Description, "status": s.Status, "authorization_header": len(s.SealedAuth) > 0}
}

func (t *Transmitter) audit(ctx context.Context, tx store.Repos, c *call, action, stream string, before, after map[string]any) error {
	if t.recorder == nil {
		return nil
	}
	return t.recorder.Record(ctx, tx, c.actor, events.Entry{Tenant: c.tenant.ID, Action: action,
		TargetType: "ssf_stream", TargetID: stream, Changes: events.Diff(before, after)})
}

// streamParam answers the stream named by the query's stream_id.
func (t *Transmitter) streamParam(r *http.Request, c *call) (*store.SSFStream, error) {
	id := r.URL.Query().Get("stream_id")
	if id == "" || len(id) > 64 {
		return nil, invalid("stream_id", "required", "Name the stream: ?stream_id=...")
	}
	return t.store.SSF().GetSSFStream(r.Context(), c.tenant.ID, id)
}

func (t *Transmitter) readStream(w http.ResponseWriter, r *http.Request, c *call) error {
	if r.URL.Query().Get("stream_id") == "" {
		list, err := t.store.SSF().ListSSFStreams(r.Context(), c.tenant.ID, MaxStreams)
		if err != nil {
			return err
		}
		out := make([]StreamConfig, 0, len(list))
		for i := range list {
			out = append(out, t.config(c.tenant.Slug, &list[i]))
		}
		httpx.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	s, err := t.streamParam(r, c)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, t.config(c.tenant.Slug, s))
	return nil
}

func (t *Transmitter) updateStream(replace bool) func(w http.ResponseWriter, r *http.Request, c *call) error {
	return func(w http.ResponseWriter, r *http.Request, c *call) error {
		var in streamIn
		if err := httpx.DecodeJSON(w, r, maxBodyBytes, &in); err != nil {
			return err
		}
		if in.StreamID == "" {
			return invalid("stream_id", "required", "Name the stream in stream_id.")
		}
		var out *store.SSFStream
		err := t.store.InTx(r.Context(), func(tx store.Repos) error {
			var before map[string]any
			s, err := tx.SSF().UpdateSSFStream(r.Context(), c.tenant.ID, in.StreamID, func(s *store.SSFStream) error {
				before = streamFields(s)
				return t.apply(s, &in, replace)
			})
			if err != nil {
				return err
			}
			out = s
			return t.audit(r.Context(), tx, c, "ssf.stream.update", s.ID, before, streamFields(s))
		})
		if err != nil {
			return err
		}
		httpx.WriteJSON(w, http.StatusOK, t.config(c.tenant.Slug, out))
		return nil
	}
}

func (t *Transmitter) deleteStream(w http.ResponseWriter, r *http.Request, c *call) error {
	s, err := t.streamParam(r, c)
	if err != nil {
		return err
	}
	err = t.store.InTx(r.Context(), func(tx store.Repos) error {
		if err := tx.SSF().DeleteSSFStream(r.Context(), c.tenant.ID, s.ID); err != nil {
			return err
		}
		return t.audit(r.Context(), tx, c, "ssf.stream.delete", s.ID, streamFields(s), nil)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// dialable: false for a URL whose host is an IP address the outbound
// policy refuses. Names are checked when a push dials them (after DNS).
func (t *Transmitter) dialable(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(strings.Trim(u.Hostname(), "[]"))
	return err != nil || t.policy.Allowed(ip.Unmap())
}

// invalid is a validation error of one field.
func invalid(field, code, msg string) error {
	var c valid.Collector
	c.Add(field, code, msg)
	return c.Err()
}
