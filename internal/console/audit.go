package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The audit log viewer: the tenant's entries, newest first, filtered by
// actor, action, target and time with the API's query (GET .../audit),
// paged backwards by sequence number, personal data opened (or shown as
// erased); and the chain check of GET .../audit/verify behind a button.
// Both need the audit permission, as the API routes do.

func init() {
	register(func(c *Console) []Page {
		return []Page{
			{Method: "GET", Path: "/audit", Perm: authz.PermAudit, Nav: "console2.nav.audit", Order: 90, Handle: c.auditList},
			{Method: "GET", Path: "/audit/verify", Perm: authz.PermAudit, Handle: c.auditVerify},
		}
	})
}

var (
	auditTmpl       = parse("audit.html")
	auditVerifyTmpl = parse("audit_verify.html")
)

// timeInput is the layout of a datetime-local input, read as UTC.
const timeInput = "2006-01-02T15:04"

type auditData struct {
	Actor, Action, Target, Since, Until string
	Entries                             []store.AuditEntry
	Next                                string
}

// auditList: GET /audit?actor=&action=&target=&since=&until=&before=.
func (c *Console) auditList(w http.ResponseWriter, r *http.Request, rq *Request) error {
	in := r.URL.Query()
	d := auditData{Actor: strings.TrimSpace(in.Get("actor")), Action: strings.TrimSpace(in.Get("action")),
		Target: strings.TrimSpace(in.Get("target")), Since: in.Get("since"), Until: in.Get("until")}
	q := store.AuditQuery{Action: d.Action, ActorID: d.Actor, TargetID: d.Target, Limit: pageSize}
	var vc valid.Collector
	for name, v := range map[string]string{"actor": d.Actor, "action": d.Action, "target": d.Target} {
		if len(v) > 256 {
			vc.Add(name, "too_long", "This is too long.")
		}
	}
	for name, v := range map[string]string{"since": d.Since, "until": d.Until} {
		if v == "" {
			continue
		}
		t, err := time.ParseInLocation(timeInput, v, time.UTC)
		if err != nil {
			vc.Add(name, "invalid", "Enter a date and time such as 2026-01-02T15:04 (UTC).")
			continue
		}
		if name == "since" {
			q.Since = t
		} else {
			q.Until = t
		}
	}
	if b := in.Get("before"); b != "" {
		n, err := strconv.ParseInt(b, 10, 64)
		if err != nil || n < 1 {
			vc.Add("before", "invalid", "This page link is not one the console gave out.")
		}
		q.BeforeSeq = n
	}
	if err := vc.Err(); err != nil {
		return rq.RenderForm(w, http.StatusBadRequest, auditTmpl, "console2.audit.title", d, err)
	}
	es, err := c.Audit.ListAudit(rq.Context(), rq.Tenant.ID, q)
	if err != nil {
		return err
	}
	if err := c.Privacy.OpenAudit(rq.Context(), es); err != nil {
		return err
	}
	d.Entries = es
	if len(es) == pageSize {
		next := url.Values{}
		for k, v := range map[string]string{"actor": d.Actor, "action": d.Action, "target": d.Target, "since": d.Since, "until": d.Until} {
			if v != "" {
				next.Set(k, v)
			}
		}
		next.Set("before", strconv.FormatInt(es[len(es)-1].Seq, 10))
		d.Next = rq.Base + "/audit?" + next.Encode()
	}
	return rq.Render(w, http.StatusOK, auditTmpl, "console2.audit.title", d)
}

// auditVerify: GET /audit/verify checks the tenant's chain (it changes
// nothing, so a link or a GET form starts it).
func (c *Console) auditVerify(w http.ResponseWriter, r *http.Request, rq *Request) error {
	res, err := events.Verify(rq.Context(), c.Audit, rq.Tenant.ID)
	if err != nil {
		return err
	}
	return rq.Render(w, http.StatusOK, auditVerifyTmpl, "console2.audit.verify_title", res)
}
