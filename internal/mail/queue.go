package mail

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/poll"
	"github.com/gatehouse-id/gatehouse/internal/seal"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tracing"
)

// Queue puts rendered mails into the database queue, sealed with the
// master key and bound to the mail's id.
type Queue struct {
	Sealer *seal.Sealer
	// Kick, when set, is told that a mail is waiting (wakes this node's
	// worker at once instead of at its next poll).
	Kick chan<- struct{}
}

func aad(id string) []byte { return []byte("mail:" + id) }

// Enqueue seals m and queues it through repos (pass the transaction of the
// change the mail belongs to, so both commit or neither). It answers the
// mail's id.
func (q *Queue) Enqueue(ctx context.Context, repos store.Repos, tenant store.TenantID, kind string, m Message) (string, error) {
	return q.EnqueueAt(ctx, repos, tenant, kind, m, time.Time{})
}

// EnqueueAt is Enqueue for a mail not to be sent before at (zero: now);
// bulk mail is spread over time this way to keep to a sending rate.
func (q *Queue) EnqueueAt(ctx context.Context, repos store.Repos, tenant store.TenantID, kind string, m Message, at time.Time) (string, error) {
	if _, err := checkAddress(m.To); err != nil {
		return "", err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return "", err
	}
	plain, err := json.Marshal(m)
	if err != nil {
		return "", err
	}
	sealed, err := q.Sealer.Seal(plain, aad(id.String()))
	if err != nil {
		return "", err
	}
	rec := &store.Mail{ID: id.String(), Tenant: tenant, To: m.To, Kind: kind, Sealed: sealed, NextAttemptAt: at}
	if err := repos.SelfService().MailQueue().EnqueueMail(ctx, rec); err != nil {
		return "", err
	}
	if q.Kick != nil {
		select {
		case q.Kick <- struct{}{}:
		default:
		}
	}
	return rec.ID, nil
}

// Worker delivers queued mails. Several workers (on one node or many) may
// run against one database: a claimed mail is leased to one of them.
type Worker struct {
	Store  store.Store
	Sealer *seal.Sealer
	Sender Sender
	Log    *slog.Logger
	Now    func() time.Time
	// Kick wakes the worker early (Queue.Kick's other end); optional.
	Kick <-chan struct{}
	// Meter, when set, counts mails sent per tenant.
	Meter interface {
		Add(tenant store.TenantID, metric string, n int64)
	}
	// Poll is the idle interval (default 2s), Lease how long a claim holds
	// (default 2m; a delivery must finish sooner), MaxAttempts the
	// deliveries before a mail is given up (default 8), BaseBackoff the
	// first retry delay, doubled per attempt up to MaxBackoff (defaults
	// 15s and 1h).
	Poll        time.Duration
	Lease       time.Duration
	MaxAttempts int
	BaseBackoff time.Duration
	MaxBackoff  time.Duration
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

// Run delivers until ctx ends.
func (w *Worker) Run(ctx context.Context) {
	poll.Loop(ctx, poll.OrDefault(w.Poll, 2*time.Second), w.Kick, w.RunOnce, func(err error) {
		if errors.Is(err, store.ErrBusy) {
			// Lock contention: nothing was claimed; the next round retries.
			w.Log.DebugContext(ctx, "mail: worker: database busy", "err", err)
			return
		}
		w.Log.ErrorContext(ctx, "mail: worker", "err", err)
	})
}

// RunOnce claims a batch of due mails and tries each once; it answers how
// many it claimed.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	q := w.Store.SelfService().MailQueue()
	batch, err := q.ClaimMail(ctx, w.now(), poll.OrDefault(w.Lease, 2*time.Minute), 10)
	if err != nil {
		return 0, err
	}
	for _, m := range batch {
		if ctx.Err() != nil {
			// Leave the rest leased; they are claimed again when the
			// lease runs out.
			return len(batch), ctx.Err()
		}
		w.deliver(ctx, m)
	}
	return len(batch), nil
}

func (w *Worker) deliver(ctx context.Context, m store.Mail) {
	ctx, span := tracing.Start(ctx, "mail.deliver") // no address or content in the span
	defer span.End()
	q := w.Store.SelfService().MailQueue()
	plain, err := w.Sealer.Open(m.Sealed, aad(m.ID))
	var msg Message
	if err == nil {
		err = json.Unmarshal(plain, &msg)
	}
	if err != nil {
		w.Log.ErrorContext(ctx, "mail: unreadable queued mail given up", "mail_id", m.ID, "err", err)
		_ = q.MarkRetry(ctx, m.ID, w.now(), "unreadable content", true)
		return
	}
	lease := poll.OrDefault(w.Lease, 2*time.Minute)
	sctx, cancel := context.WithTimeout(ctx, lease*3/4)
	err = w.Sender.Send(sctx, msg)
	cancel()
	// Record the outcome even when ctx has ended: the mail went out (or
	// not) regardless.
	rctx := context.WithoutCancel(ctx)
	if err == nil {
		if w.Meter != nil {
			w.Meter.Add(m.Tenant, store.MetricMails, 1)
		}
		// Retried through contention: a mail not marked sent would go
		// out again when its lease ends.
		if err := store.RetryBusy(rctx, 5, func() error { return q.MarkSent(rctx, m.ID, w.now()) }); err != nil {
			w.Log.ErrorContext(ctx, "mail: mark sent", "mail_id", m.ID, "err", err)
		}
		return
	}
	var perm *PermanentError
	final := errors.As(err, &perm) || m.Attempts >= poll.OrDefault(w.MaxAttempts, 8)
	next := w.now().Add(backoff(m.Attempts, poll.OrDefault(w.BaseBackoff, 15*time.Second), poll.OrDefault(w.MaxBackoff, time.Hour)))
	w.Log.WarnContext(ctx, "mail: delivery failed", "mail_id", m.ID, "kind", m.Kind, "attempt", m.Attempts,
		"final", final, "err", Redact(err.Error()))
	reason := Redact(fmt.Sprint(err))
	if err := store.RetryBusy(rctx, 5, func() error { return q.MarkRetry(rctx, m.ID, next, reason, final) }); err != nil {
		w.Log.ErrorContext(ctx, "mail: mark retry", "mail_id", m.ID, "err", err)
	}
}

// backoff is base * 2^(attempt-1), at most limit.
func backoff(attempt int, base, limit time.Duration) time.Duration {
	d := base
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	return min(d, limit)
}
