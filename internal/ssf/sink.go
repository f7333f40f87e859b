package ssf

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

var _ events.Sink = (*Transmitter)(nil)

// Name implements events.Sink.
func (t *Transmitter) Name() string { return "ssf" }

// Deliver implements events.Sink: it turns ev into a SET for every stream
// of the tenant that has added the user as a subject (by iss_sub, or by
// email address: the current one, or the former one for an address
// change) and asked for the event's type, queues it once per stream and
// event, and pushes what push streams have pending. Poll streams keep it
// until the receiver acknowledges it. An error (a push stream that did not
// take the SET) makes the outbox deliver again; streams that took it are
// not sent it twice.
func (t *Transmitter) Deliver(ctx context.Context, ev events.Event) error {
	sig, ok := translate(ev)
	if !ok {
		return nil
	}
	tenant := store.TenantID(ev.Tenant)
	slug := ev.TenantSlug
	if slug == "" {
		tn, err := t.store.Tenants().GetTenant(ctx, tenant)
		if errors.Is(err, store.ErrNotFound) {
			return nil // the tenant is gone, and its streams with it
		}
		if err != nil {
			return err
		}
		slug = tn.Slug
	}
	keys := []string{issSubKey(sig.userID)}
	if sig.oldEmail != "" {
		keys = append(keys, emailKey(directory.NormalizeEmail(sig.oldEmail)))
	} else if u, err := t.store.Users().GetUser(ctx, tenant, sig.userID); err == nil {
		keys = append(keys, emailKey(u.EmailNorm))
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	matches, err := t.store.SSF().MatchSSFSubjects(ctx, tenant, keys)
	if err != nil {
		return err
	}
	ids := make([]string, 0, len(matches))
	for id := range matches {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	var errs []error
	for _, id := range ids {
		st, err := t.store.SSF().GetSSFStream(ctx, tenant, id)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if st.Status == store.SSFDisabled || !slices.Contains(st.EventsDelivered, sig.uri) {
			continue
		}
		tok, jti, err := t.sign(ctx, tenant, slug, st.Audience, ev.ID, subID(matches[id], t.Issuer(slug)), sig.uri, sig.payload)
		if err != nil {
			return err
		}
		set, err := t.store.SSF().PutSSFSet(ctx, &store.SSFSet{Tenant: tenant, StreamID: st.ID, JTI: jti, EventID: ev.ID,
			Token: tok, CreatedAt: t.now()})
		if errors.Is(err, store.ErrNotFound) {
			continue // the stream was deleted meanwhile
		}
		if err != nil {
			return err
		}
		if st.Method != store.SSFPush || st.Status != store.SSFEnabled || set.State != store.SETPending {
			continue
		}
		if err := t.flush(ctx, st); err != nil {
			errs = append(errs, fmt.Errorf("stream %s: %w", st.ID, err))
		}
	}
	return errors.Join(errs...)
}

// errPushFailed: the receiver did not take a SET; it stays pending.
var errPushFailed = errors.New("ssf: push not accepted")

// flush pushes the stream's pending SETs in order until none is left. It
// stops at the first SET the receiver does not take (keeping the order)
// and answers errPushFailed. A SET the receiver refuses as invalid (400,
// RFC 8935 section 2.3) is marked failed and not sent again.
func (t *Transmitter) flush(ctx context.Context, st *store.SSFStream) error {
	m, _ := t.flushing.LoadOrStore(string(st.Tenant)+"/"+st.ID, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	defer mu.Unlock()
	auth := ""
	if len(st.SealedAuth) > 0 {
		b, err := t.sealer.Open(st.SealedAuth, authAAD(st.Tenant, st.ID))
		if err != nil {
			return err
		}
		auth = string(b)
	}
	for range 100 { // at most 100 batches per call
		pending, err := t.store.SSF().PendingSSFSets(ctx, st.Tenant, st.ID, pushBatch)
		if err != nil {
			return err
		}
		if len(pending) == 0 {
			return nil
		}
		for _, set := range pending {
			state, reason := t.push(ctx, st.EndpointURL, auth, set.Token)
			if state == store.SETPending {
				if err := t.store.SSF().FailedSSFAttempt(ctx, st.Tenant, st.ID, set.JTI, reason); err != nil {
					return err
				}
				t.log.WarnContext(ctx, "ssf: push not accepted", "tenant", st.Tenant, "stream", st.ID, "jti", set.JTI, "reason", reason)
				return errPushFailed
			}
			if state == store.SETFailed {
				t.log.WarnContext(ctx, "ssf: receiver refused a SET", "tenant", st.Tenant, "stream", st.ID, "jti", set.JTI, "reason", reason)
			}
			if _, err := t.store.SSF().FinishSSFSets(ctx, st.Tenant, st.ID, []string{set.JTI}, state, reason, t.now()); err != nil {
				return err
			}
		}
	}
	return nil
}

// errCode keeps a receiver's error code (RFC 8935 section 2.4: invalid_request,
// invalid_key, ...) when it is one: short, lower case letters and
// underscores; anything else is recorded as invalid_request.
func errCode(s string) string {
	if s == "" || len(s) > 64 {
		return "invalid_request"
	}
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '_' {
			return "invalid_request"
		}
	}
	return s
}

// push POSTs one SET (RFC 8935) and answers its new state: delivered on
// 2xx, failed on 400 (the receiver says the SET is invalid), pending on
// anything else; reason is for the log and the row, never a secret.
func (t *Transmitter) push(ctx context.Context, endpoint, auth, token string) (string, string) {
	if msg := t.urls.Check(endpoint); msg != "" {
		return store.SETPending, "endpoint not allowed"
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader([]byte(token)))
	if err != nil {
		return store.SETPending, "bad endpoint"
	}
	req.Header.Set("Content-Type", "application/secevent+jwt")
	req.Header.Set("Accept", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := t.client.Do(req)
	if err != nil {
		return store.SETPending, "unreachable"
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return store.SETDelivered, ""
	case resp.StatusCode == http.StatusBadRequest:
		var e struct {
			Err string `json:"err"`
		}
		_ = json.Unmarshal(body, &e)
		return store.SETFailed, "receiver: " + errCode(e.Err)
	}
	return store.SETPending, fmt.Sprintf("status %d", resp.StatusCode)
}
