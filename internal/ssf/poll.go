package ssf

import (
	"net/http"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Poll bounds (RFC 8936).
const (
	defaultMaxEvents = 25
	maxMaxEvents     = 100
	maxAcks          = 1000
	longPollWait     = 10 * time.Second
	longPollStep     = 250 * time.Millisecond
)

// pollIn is a poll request (RFC 8936 section 2.4).
type pollIn struct {
	MaxEvents         *int                      `json:"maxEvents"`
	ReturnImmediately bool                      `json:"returnImmediately"`
	Ack               []string                  `json:"ack"`
	SetErrs           map[string]setErrorReport `json:"setErrs"`
}

type setErrorReport struct {
	Err         string `json:"err"`
	Description string `json:"description"`
}

// pollOut is the answer (RFC 8936 section 2.5).
type pollOut struct {
	Sets          map[string]string `json:"sets"`
	MoreAvailable bool              `json:"moreAvailable,omitempty"`
}

// poll acknowledges what the receiver names (ack: delivered; setErrs:
// failed), then answers up to maxEvents pending SETs, oldest first. A SET
// handed out stays pending, and is handed out again, until it is
// acknowledged. Without returnImmediately an empty answer waits up to
// longPollWait for a SET. A paused or disabled stream answers none.
func (t *Transmitter) poll(w http.ResponseWriter, r *http.Request, c *call) error {
	var in pollIn
	if err := httpx.DecodeJSON(w, r, maxBodyBytes, &in); err != nil {
		return err
	}
	if len(in.Ack)+len(in.SetErrs) > maxAcks {
		return invalid("ack", "too_many", "Acknowledge at most 1000 SETs per request.")
	}
	limit := defaultMaxEvents
	if in.MaxEvents != nil {
		limit = min(max(*in.MaxEvents, 0), maxMaxEvents)
	}
	s, err := t.store.SSF().GetSSFStream(r.Context(), c.tenant.ID, r.PathValue("stream"))
	if err != nil {
		return err
	}
	if s.Method != store.SSFPoll {
		return httpx.NewProblem(http.StatusBadRequest, "not-a-poll-stream", "Not a poll stream",
			"This stream delivers by push.")
	}
	now := t.now()
	if _, err := t.store.SSF().FinishSSFSets(r.Context(), s.Tenant, s.ID, in.Ack, store.SETDelivered, "", now); err != nil {
		return err
	}
	for jti, e := range in.SetErrs {
		if _, err := t.store.SSF().FinishSSFSets(r.Context(), s.Tenant, s.ID, []string{jti}, store.SETFailed, "receiver: "+errCode(e.Err), now); err != nil {
			return err
		}
	}
	out := pollOut{Sets: map[string]string{}}
	if limit == 0 || s.Status != store.SSFEnabled {
		httpx.WriteJSON(w, http.StatusOK, out)
		return nil
	}
	deadline := time.Now().Add(longPollWait)
	for {
		pending, err := t.store.SSF().PendingSSFSets(r.Context(), s.Tenant, s.ID, limit+1)
		if err != nil {
			return err
		}
		for i, p := range pending {
			if i == limit {
				out.MoreAvailable = true
				break
			}
			out.Sets[p.JTI] = p.Token
		}
		if len(out.Sets) > 0 || in.ReturnImmediately || time.Now().After(deadline) {
			break
		}
		select {
		case <-r.Context().Done():
			return r.Context().Err()
		case <-time.After(longPollStep):
		}
	}
	httpx.WriteJSON(w, http.StatusOK, out)
	return nil
}
