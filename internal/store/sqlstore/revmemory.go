package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Each node keeps token_revocations in memory, so that the common answer
// of AccessTokenRevoked (not revoked) reads no SQL. The table is small (a
// row per revocation, kept until the tokens it covers have expired).
//
// The memory answers only while it is known to hold every revocation
// committed more than revocationFresh ago; otherwise AccessTokenRevoked
// reads the table. What makes that known is a sync point: a time S such
// that every revocation committed before S is in memory.
//   - Loading the table sets S to when the load began.
//   - A revocation written through this node is added when it commits.
//   - PostgreSQL: a revocation's write NOTIFYs its row inside its
//     transaction; every node's listener adds it. Each node also NOTIFYs a
//     heartbeat of its own every revocationSyncEvery; PostgreSQL queues
//     notifications in commit order and a listener reads them in that
//     order, so when a node hears its own heartbeat back, every
//     revocation committed before the heartbeat was sent has been heard:
//     S becomes the time it was sent.
//   - SQLite (one node; another process such as the CLI may still write
//     the file): a row's seq (migration 0057, AUTOINCREMENT) grows in
//     commit order, as SQLite writes one at a time; every
//     revocationSyncEvery the node reads the rows past the last seq it has
//     seen, and S becomes when that read began.
// When a node's listener reconnects (notifications may have been lost)
// the memory starts over from a new load.

// revocationFresh bounds how old a sync point the memory may answer from:
// a revocation committed through another node (or process) takes effect
// there within it, at most.
const revocationFresh = time.Second

// revocationSyncEvery is how often a node makes a sync point.
const revocationSyncEvery = 200 * time.Millisecond

// revocationMemoryMax bounds the rows kept; past it, the node reads the
// table, and tries to load it again only after revocationOverWait (a
// table that stays over the bound is not re-read whole every sync).
const (
	revocationMemoryMax = 1 << 20
	revocationOverWait  = 30 * time.Second
)

// Change kinds that stay inside sqlstore (not told to ChangeFeed
// subscribers): a new revocation (ID: its row as JSON) and a node's
// heartbeat (ID: "node:n").
const (
	changeRevoked = "revoked"
	changeSync    = "sync"
)

// revRow is a row of token_revocations.
type revRow struct {
	Kind     string `json:"k"`
	Subject  string `json:"s"`
	Client   string `json:"c,omitempty"`
	Revoked  int64  `json:"r"`
	NotAfter *int64 `json:"n,omitempty"`
	Expires  int64  `json:"e"`
}

// covers answers whether the row revokes t, issued and expiring at the
// given microseconds.
func (r *revRow) covers(t store.AccessTokenRef, issued, expires int64) bool {
	clientOK := r.Client == "" || r.Client == t.ClientID
	switch {
	case r.Kind == revokedJTI && r.Subject == t.ID,
		r.Kind == revokedFamily && r.Subject == t.FamilyID,
		r.Kind == revokedSession && r.Subject == t.SessionID && clientOK,
		r.Kind == revokedUser && r.Subject == t.UserID && clientOK && issued <= r.Revoked &&
			(r.NotAfter == nil || expires <= *r.NotAfter):
		return true
	}
	return false
}

func (r *revRow) same(o *revRow) bool {
	return r.Kind == o.Kind && r.Subject == o.Subject && r.Client == o.Client && r.Revoked == o.Revoked &&
		r.Expires == o.Expires && (r.NotAfter == nil) == (o.NotAfter == nil) && (r.NotAfter == nil || *r.NotAfter == *o.NotAfter)
}

type revMemory struct {
	db   *DB
	node string // names this node's heartbeats

	mu      sync.Mutex
	m       map[recordKey][]revRow // by tenant and subject
	n       int                    // rows in m
	ready   bool                   // loaded since the last reset
	loading bool
	epoch   uint64    // counts resets: a load begun before one is discarded
	synced  time.Time // the sync point S (see above)
	seq     int64     // SQLite: the highest seq read
	beats   map[uint64]time.Time
	beat    uint64
	pruned  time.Time
	// max is revocationMemoryMax unless a test sets it; retryAt is when a
	// load may run again after one found the table over it; loads counts
	// the loads begun.
	max     int
	retryAt time.Time
	loads   int

	running atomic.Bool // between start and close
	stop    context.CancelFunc
	done    chan struct{}
}

func newRevMemory(d *DB) *revMemory {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return &revMemory{db: d, node: hex.EncodeToString(b[:]), m: map[recordKey][]revRow{}, beats: map[uint64]time.Time{},
		max: revocationMemoryMax}
}

// start loads the table and makes sync points until Close.
func (v *revMemory) start() {
	ctx, stop := context.WithCancel(context.Background())
	v.stop, v.done = stop, make(chan struct{})
	v.running.Store(true)
	v.reset()
	go func() {
		defer close(v.done)
		tick := time.NewTicker(revocationSyncEvery)
		defer tick.Stop()
		for ctx.Err() == nil {
			select {
			case <-tick.C:
				v.sync(ctx)
			case <-ctx.Done():
			}
		}
	}()
}

func (v *revMemory) close() {
	if v.running.Swap(false) {
		v.stop()
		<-v.done
	}
}

// reset forgets everything and loads the table again.
func (v *revMemory) reset() {
	v.mu.Lock()
	v.epoch++
	v.ready, v.loading = false, true
	clear(v.m)
	v.n, v.seq = 0, 0
	clear(v.beats)
	epoch := v.epoch
	v.loads++
	v.mu.Unlock()
	go v.load(epoch)
}

// load reads the whole table; rows heard of meanwhile are kept too.
func (v *revMemory) load(epoch uint64) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	began := time.Now()
	rows, maxSeq, err := v.read(ctx, 0)
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.epoch != epoch {
		return // reset meanwhile: that reset's load counts
	}
	v.loading = false
	if err != nil {
		return // not ready, AccessTokenRevoked reads the table; the next sync loads again
	}
	if len(rows)+v.n > v.max {
		v.retryAt = time.Now().Add(revocationOverWait) // not ready either, for a while
		return
	}
	for i := range rows {
		v.add(rows[i].tenant, rows[i].row)
	}
	v.seq, v.synced, v.ready = maxSeq, began, true
}

type tenantRow struct {
	tenant store.TenantID
	row    revRow
}

// read answers the rows (on SQLite those past seq) and the highest seq.
func (v *revMemory) read(ctx context.Context, after int64) ([]tenantRow, int64, error) {
	const cols = `tenant_id, kind, subject, client_id, revoked_at, not_after, expires_at FROM token_revocations`
	var (
		rs  *sql.Rows
		err error
	)
	if v.db.d.name == DriverSQLite {
		rs, err = v.db.sql.QueryContext(ctx, `SELECT seq, `+cols+` WHERE seq > $1`, after)
	} else {
		rs, err = v.db.sql.QueryContext(ctx, `SELECT 0, `+cols)
	}
	if err != nil {
		return nil, 0, wrapErr("load revocations", err)
	}
	defer rs.Close()
	var (
		out []tenantRow
		max = after
	)
	for rs.Next() {
		var (
			tr       tenantRow
			tenant   string
			seq      int64
			notAfter sql.NullInt64
		)
		if err := rs.Scan(&seq, &tenant, &tr.row.Kind, &tr.row.Subject, &tr.row.Client, &tr.row.Revoked, &notAfter, &tr.row.Expires); err != nil {
			return nil, 0, wrapErr("load revocations", err)
		}
		if notAfter.Valid {
			tr.row.NotAfter = &notAfter.Int64
		}
		tr.tenant = store.TenantID(tenant)
		max = maxInt64(max, seq)
		out = append(out, tr)
	}
	return out, max, wrapErr("load revocations", rs.Err())
}

func maxInt64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

// add keeps r once; v.mu is held.
func (v *revMemory) add(tenant store.TenantID, r revRow) {
	k := recordKey{tenant, r.Subject}
	for i := range v.m[k] {
		if v.m[k][i].same(&r) {
			return
		}
	}
	v.m[k] = append(v.m[k], r)
	v.n++
}

// sync makes a sync point (see the top of this file), loads the table if
// it is not loaded, and drops rows that have expired.
func (v *revMemory) sync(ctx context.Context) {
	v.mu.Lock()
	ready, loading, epoch, seq := v.ready, v.loading, v.epoch, v.seq
	if ready && v.db.now().Sub(v.pruned) > time.Minute {
		v.prune()
	}
	v.mu.Unlock()
	switch {
	case !ready && !loading:
		v.mu.Lock()
		if v.epoch == epoch && !v.loading && !time.Now().Before(v.retryAt) {
			v.loading = true
			v.loads++
			go v.load(epoch)
		}
		v.mu.Unlock()
	case !ready:
	case v.db.feed.channel != "": // PostgreSQL: a heartbeat
		v.mu.Lock()
		v.beat++
		n := v.beat
		v.beats[n] = time.Now()
		v.mu.Unlock()
		id := v.node + ":" + strconv.FormatUint(n, 10)
		if _, err := v.db.sql.ExecContext(ctx, `SELECT pg_notify($1, $2)`, v.db.feed.channel, changeSync+"\t\t"+id); err != nil {
			v.mu.Lock()
			delete(v.beats, n)
			v.mu.Unlock()
		}
	case v.db.d.name == DriverSQLite:
		began := time.Now()
		rows, max, err := v.read(ctx, seq)
		if err != nil {
			return
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.epoch != epoch {
			return
		}
		for i := range rows {
			v.add(rows[i].tenant, rows[i].row)
		}
		v.seq = max
		if began.After(v.synced) {
			v.synced = began
		}
		if v.n > v.max {
			v.ready = false
			clear(v.m)
			v.n = 0
			v.retryAt = time.Now().Add(revocationOverWait)
		}
	}
}

// prune drops rows a minute past their expiry on the store's clock, as
// the expiry sweep does on the table; v.mu is held.
func (v *revMemory) prune() {
	now := v.db.now()
	v.dropExpired(now.Add(-time.Minute))
	v.pruned = now
}

// swept drops what DeleteExpired(before) removed from the table.
func (v *revMemory) swept(before time.Time) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.dropExpired(before)
}

// dropExpired drops the rows that expired before t; v.mu is held.
func (v *revMemory) dropExpired(t time.Time) {
	cut := t.UnixMicro()
	for k, rows := range v.m {
		kept := rows[:0]
		for _, r := range rows {
			if r.Expires >= cut {
				kept = append(kept, r)
			}
		}
		v.n -= len(rows) - len(kept)
		if len(kept) == 0 {
			delete(v.m, k)
		} else {
			v.m[k] = kept
		}
	}
}

// heard takes a change of this file's kinds (from this node's writes or
// the listener).
func (v *revMemory) heard(c store.Change) {
	switch c.Kind {
	case changeRevoked:
		var r revRow
		if json.Unmarshal([]byte(c.ID), &r) != nil {
			v.reset() // cannot happen: written by revokedChange
			return
		}
		v.mu.Lock()
		v.add(c.Tenant, r)
		over := v.n > v.max
		v.mu.Unlock()
		if over {
			v.reset()
		}
	case changeSync:
		node, num, ok := strings.Cut(c.ID, ":")
		n, err := strconv.ParseUint(num, 10, 64)
		if !ok || err != nil || node != v.node {
			return // another node's heartbeat
		}
		v.mu.Lock()
		defer v.mu.Unlock()
		if sent, ok := v.beats[n]; ok && v.ready && sent.After(v.synced) {
			v.synced = sent
		}
		for b := range v.beats {
			if b <= n {
				delete(v.beats, b)
			}
		}
	}
}

// revoked answers whether a revocation in memory covers t; ok false when
// the memory may not answer (see the top of this file).
func (v *revMemory) revoked(tenant store.TenantID, t store.AccessTokenRef) (revoked, ok bool) {
	issued, expires := micro(t.IssuedAt).UnixMicro(), micro(t.ExpiresAt).UnixMicro()
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.ready || time.Since(v.synced) >= revocationFresh {
		return false, false
	}
	for _, s := range []string{t.ID, t.FamilyID, t.SessionID, t.UserID} {
		if s == "" {
			continue
		}
		for i := range v.m[recordKey{tenant, s}] {
			if v.m[recordKey{tenant, s}][i].covers(t, issued, expires) {
				return true, true
			}
		}
	}
	return false, true
}

// revokedChange is the change a new revocation makes.
func revokedChange(tenant store.TenantID, r revRow) store.Change {
	b, _ := json.Marshal(r) // strings and integers always marshal
	return store.Change{Kind: changeRevoked, Tenant: tenant, ID: string(b)}
}

// importedRevocation tells the nodes of a row of token_revocations that a
// tenant import wrote (decoded with UseNumber).
func importedRevocation(ctx context.Context, q querier, tenant store.TenantID, m map[string]any) error {
	str := func(k string) string { s, _ := m[k].(string); return s }
	num := func(k string) (int64, bool) {
		n, ok := m[k].(json.Number)
		if !ok {
			return 0, false
		}
		v, err := n.Int64()
		return v, err == nil
	}
	r := revRow{Kind: str("kind"), Subject: str("subject"), Client: str("client_id")}
	var ok1, ok2 bool
	r.Revoked, ok1 = num("revoked_at")
	r.Expires, ok2 = num("expires_at")
	if na, ok := num("not_after"); ok {
		r.NotAfter = &na
	}
	w, ok := q.(writeQ)
	if !ok || !ok1 || !ok2 {
		return errors.New("sqlstore: import token_revocations: not inside a write, or a row without its times")
	}
	return w.changed(ctx, revokedChange(tenant, r))
}
