package api

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

type auditOut struct {
	Seq       int64           `json:"seq"`
	ID        string          `json:"id"`
	Time      time.Time       `json:"time"`
	Actor     ref             `json:"actor"`
	Action    string          `json:"action"`
	Target    ref             `json:"target"`
	ClientIP  string          `json:"client_ip,omitempty"`
	RequestID string          `json:"request_id,omitempty"`
	Changes   json.RawMessage `json:"changes"`
	PrevHash  string          `json:"prev_hash"`
	Hash      string          `json:"hash"`
}

type ref struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

func auditJSON(e *store.AuditEntry) auditOut {
	return auditOut{Seq: e.Seq, ID: e.ID, Time: e.Time, Actor: ref{e.ActorType, e.ActorID},
		Action: e.Action, Target: ref{e.TargetType, e.TargetID}, ClientIP: e.ClientIP,
		RequestID: e.RequestID, Changes: e.Changes, PrevHash: e.PrevHash, Hash: e.Hash}
}

// auditTenant is the chain a request reads: the tenant's, or the platform's.
func auditTenant(c *call) store.TenantID { return keyTenant(c) }

func auditQuery(r *http.Request) (store.AuditQuery, error) {
	var q store.AuditQuery
	var c valid.Collector
	for k, vs := range r.URL.Query() {
		v := vs[0]
		if len(vs) > 1 || len(v) > 256 {
			c.Add(k, "invalid", "Give this parameter once, at most 256 characters.")
			continue
		}
		if v == "" {
			continue // an empty parameter filters nothing
		}
		switch k {
		case "action":
			q.Action = v
		case "actor":
			q.ActorID = v
		case "target_type":
			q.TargetType = v
		case "target_id":
			q.TargetID = v
		case "since", "until":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				c.Add(k, "invalid", "Times are RFC 3339, such as 2026-01-02T15:04:05Z.")
			}
			if k == "since" {
				q.Since = t
			} else {
				q.Until = t
			}
		case "limit":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				c.Add("limit", "invalid", "limit is a whole number from 1 to 1000.")
			}
			q.Limit = n
		case "cursor":
			b, err := base64.RawURLEncoding.DecodeString(v)
			n, err2 := strconv.ParseInt(string(b), 10, 64)
			if err != nil || err2 != nil || n < 1 {
				c.Add("cursor", "invalid", "cursor is not one this API gave out.")
			}
			q.BeforeSeq = n
		default:
			c.Add(k, "unknown", "Unknown query parameter.")
		}
	}
	if q.Limit == 0 {
		q.Limit = 50
	}
	return q, c.Err()
}

func (a *API) listAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	q, err := auditQuery(r)
	if err != nil {
		return err
	}
	es, err := a.Audit.ListAudit(r.Context(), auditTenant(c), q)
	if err != nil {
		return err
	}
	// Personal data is stored sealed (internal/privacy): show it opened,
	// or [erased] where the person was erased.
	if err := a.Privacy.OpenAudit(r.Context(), es); err != nil {
		return err
	}
	out := list[auditOut]{Items: make([]auditOut, 0, len(es))}
	for i := range es {
		out.Items = append(out.Items, auditJSON(&es[i]))
	}
	if len(es) == q.Limit {
		out.NextCursor = base64.RawURLEncoding.EncodeToString(
			[]byte(strconv.FormatInt(es[len(es)-1].Seq, 10)))
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) verifyAudit(w http.ResponseWriter, r *http.Request, c *call) error {
	res, err := events.Verify(r.Context(), a.Audit, auditTenant(c))
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, res)
	return nil
}
