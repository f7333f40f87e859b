// Package events records the tamper-evident audit log and checks its chain.
// Services call Record inside the transaction of the change it describes, so
// a change and its entry commit together or not at all.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/google/uuid"
)

// Actor is who did something and from where. The edges (API, CLI) fill it in;
// services pass it through to Record.
type Actor struct {
	Type      string // "apikey", "user", "cli", "system"
	ID        string
	ClientIP  string
	RequestID string
}

// Change is a field's value before and after a write. Secrets never go in:
// callers record a password change as {"before":null,"after":"(set)"}.
type Change struct {
	Before any `json:"before"`
	After  any `json:"after"`
}

// Changes maps field names to their change.
type Changes map[string]Change

// Diff lists the fields whose values differ between before and after (maps
// of JSON-ready values); nil maps stand for "did not exist".
func Diff(before, after map[string]any) Changes {
	c := Changes{}
	for k, a := range after {
		if b, ok := before[k]; !ok || !reflect.DeepEqual(b, a) {
			c[k] = Change{Before: before[k], After: a}
		}
	}
	for k, b := range before {
		if _, ok := after[k]; !ok {
			c[k] = Change{Before: b, After: nil}
		}
	}
	return c
}

// Entry describes one audited action.
type Entry struct {
	Tenant     store.TenantID
	Action     string
	TargetType string
	TargetID   string
	Changes    Changes
}

// Observer is told of every entry Record appends, inside the same
// transaction: what it writes through repos commits with the change or not
// at all, and its error fails the change.
type Observer interface {
	Observe(ctx context.Context, repos store.Repos, actor Actor, e Entry) error
}

// EntrySealer encrypts the personal data of an entry before it is
// appended, so the chain hash covers the ciphertext (internal/privacy's
// crypto-shredding). It runs in the change's transaction through repos;
// its error fails the change.
type EntrySealer interface {
	SealEntry(ctx context.Context, repos store.Repos, e *store.AuditEntry) error
}

// Recorder appends audit entries and tells its observers. With Sealer
// set, every entry's personal data is sealed before it is written.
type Recorder struct {
	Now       func() time.Time
	Observers []Observer
	Sealer    EntrySealer
}

// Record appends e for actor through repos (use the change's transaction).
func (r *Recorder) Record(ctx context.Context, repos store.Repos, actor Actor, e Entry) error {
	changes := []byte("{}")
	if len(e.Changes) > 0 {
		var err error
		// encoding/json sorts map keys, so the bytes are deterministic.
		if changes, err = json.Marshal(e.Changes); err != nil {
			return fmt.Errorf("audit: encode changes: %w", err)
		}
	}
	return r.record(ctx, repos, actor, e, changes)
}

// record appends e with its encoded changes and tells the observers.
func (r *Recorder) record(ctx context.Context, repos store.Repos, actor Actor, e Entry, changes []byte) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	entry := &store.AuditEntry{
		Tenant: e.Tenant, ID: id.String(), Time: r.Now().UTC().Truncate(time.Microsecond),
		ActorType: actor.Type, ActorID: actor.ID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID,
		ClientIP: actor.ClientIP, RequestID: actor.RequestID, Changes: changes,
	}
	if r.Sealer != nil {
		if err := r.Sealer.SealEntry(ctx, repos, entry); err != nil {
			return err
		}
	}
	if err := repos.Audit().AppendAudit(ctx, entry); err != nil {
		return err
	}
	for _, o := range r.Observers {
		if err := o.Observe(ctx, repos, actor, e); err != nil {
			return err
		}
	}
	return nil
}

// VerifyResult is the outcome of checking one tenant's chain.
type VerifyResult struct {
	Entries int64 `json:"entries"`
	Intact  bool  `json:"intact"`
	// BrokenSeq and BrokenID name the first entry that does not check out
	// (unset when intact); Reason says why.
	BrokenSeq int64  `json:"broken_seq,omitempty"`
	BrokenID  string `json:"broken_id,omitempty"`
	Reason    string `json:"reason,omitempty"`
	// HeadEntries and HeadHash are what the stored chain head records;
	// Missing counts the newest entries it names that are gone.
	HeadEntries int64  `json:"head_entries"`
	HeadHash    string `json:"head_hash,omitempty"`
	Missing     int64  `json:"missing,omitempty"`
}

// Verify recomputes tenant's chain from its first entry: sequence numbers
// from 1 without gaps, each entry linked to the previous hash, each hash matching
// the entry's content; and the chain must end where its stored head says
// (count and hash), so entries deleted from the end do not go unnoticed.
func Verify(ctx context.Context, log store.AuditLog, tenant store.TenantID) (VerifyResult, error) {
	var res VerifyResult
	// The head first: entries appended during the walk are then beyond it
	// and are not counted against it.
	head, err := log.AuditHead(ctx, tenant)
	if err != nil {
		return VerifyResult{}, err
	}
	res.HeadEntries, res.HeadHash = head.Seq, head.Hash
	prev, bad := "", false
	broken := func(e store.AuditEntry, reason string) {
		bad = true
		res.BrokenSeq, res.BrokenID, res.Reason = e.Seq, e.ID, reason
	}
	// ScanAudit walks from seq 1 up, so an entry renumbered to 0 or below
	// is never visited: moving the newest entry there would leave a chain
	// that checks out. Such an entry sorts first, so it is the break.
	low, err := log.ListAudit(ctx, tenant, store.AuditQuery{BeforeSeq: 1, Limit: 1})
	if err != nil {
		return VerifyResult{}, err
	}
	if len(low) > 0 {
		broken(low[0], fmt.Sprintf("sequence %d is below 1: the entry was renumbered", low[0].Seq))
		return res, nil
	}
	var atHead store.AuditEntry // the entry the head names
	err = log.ScanAudit(ctx, tenant, func(e store.AuditEntry) error {
		if bad {
			return nil
		}
		want := res.Entries + 1
		switch {
		case e.Seq != want:
			broken(e, fmt.Sprintf("sequence %d follows %d: entries missing or reordered", e.Seq, want-1))
		case e.PrevHash != prev:
			broken(e, "previous-hash link does not match the entry before it")
		case e.ComputeHash() != e.Hash:
			broken(e, "content does not match its hash: the entry was altered")
		default:
			res.Entries++
			prev = e.Hash
			if e.Seq == head.Seq {
				atHead = e
			}
		}
		return nil
	})
	if err != nil {
		return VerifyResult{}, err
	}
	if !bad {
		if err := checkHead(ctx, log, tenant, &res, head, atHead); err != nil {
			return VerifyResult{}, err
		}
	}
	res.Intact = res.Reason == ""
	return res, nil
}

// checkHead compares a chain that links up (res.Entries entries) with the
// head read before it was walked, whose entry is atHead, and records what
// does not match.
func checkHead(ctx context.Context, log store.AuditLog, tenant store.TenantID, res *VerifyResult, head store.AuditChainHead, atHead store.AuditEntry) error {
	says := fmt.Sprintf("chain head says %d %s ending in hash %s", head.Seq, entries(head.Seq), head.Hash)
	switch {
	case head.Seq > res.Entries:
		res.Missing = head.Seq - res.Entries
		res.BrokenSeq = res.Entries + 1
		verb := "are"
		if res.Missing == 1 {
			verb = "is"
		}
		res.Reason = fmt.Sprintf("%s; found %d: the newest %d %s %s missing", says, res.Entries, res.Missing, entries(res.Missing), verb)
	case head.Seq > 0 && atHead.Hash != head.Hash:
		res.BrokenSeq, res.BrokenID = atHead.Seq, atHead.ID
		res.Reason = fmt.Sprintf("%s; entry %d has hash %s: it was replaced", says, atHead.Seq, atHead.Hash)
	case res.Entries > head.Seq:
		// Entries past the head: appended while the chain was walked (a
		// newer head covers them), or written behind the store's back.
		now, err := log.AuditHead(ctx, tenant)
		if err != nil {
			return err
		}
		res.HeadEntries, res.HeadHash = now.Seq, now.Hash
		if now.Seq < res.Entries {
			res.BrokenSeq = now.Seq + 1
			res.Reason = fmt.Sprintf("chain head says %d %s; found %d: the entries after it were not appended through the store",
				now.Seq, entries(now.Seq), res.Entries)
		}
	}
	return nil
}

func entries(n int64) string {
	if n == 1 {
		return "entry"
	}
	return "entries"
}

// SortedKeys returns c's field names in order, for stable display.
func (c Changes) SortedKeys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
