package ldap

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jimlambrt/gldap"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Limits of one search.
const (
	// batch is how many records one store query reads at most.
	batch = 200
	// maxMemberValues caps the member values of one group entry.
	maxMemberValues = 5000
	maxCookieLen    = 80
	pagingOID       = "1.2.840.113556.1.4.319"
	startTLSOID     = "1.3.6.1.4.1.1466.20037"
)

// Search phases, in the order entries are sent: the fixed entries of the
// tree, then users, then groups, each in id order. A paging cookie is the
// phase and the last id sent.
const (
	phaseFixed = iota
	phaseUsers
	phaseGroups
	phaseDone
)

// errSearchLimit ends a search when a size limit is reached with entries left.
var errSearchLimit = errors.New("ldap: size limit")

// search handles a search request of a bound connection.
func (l *listener) search(w *gldap.ResponseWriter, r *gldap.Request) {
	done := r.NewSearchDoneResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	m, err := r.GetSearchMessage()
	if err != nil {
		done.SetResultCode(gldap.ResultProtocolError)
		_ = w.Write(done)
		return
	}
	l.mu.Lock()
	who := l.conns[r.ConnectionID()].bound
	l.mu.Unlock()
	if who == nil {
		done.SetResultCode(gldap.ResultInsufficientAccessRights)
		done.SetDiagnosticMessage("bind first")
		_ = w.Write(done)
		return
	}
	limit := l.srv.cfg.TimeLimit
	if m.TimeLimit > 0 && time.Duration(m.TimeLimit)*time.Second < limit {
		limit = time.Duration(m.TimeLimit) * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	q := &query{l: l, w: w, r: r, m: m, who: who}
	code, msg := q.run(ctx)
	if code == gldap.ResultSuccess && ctx.Err() != nil {
		code, msg = gldap.ResultTimeLimitExceeded, "time limit exceeded"
	}
	done.SetResultCode(code)
	done.SetDiagnosticMessage(msg)
	if q.paging != nil {
		done.SetControls(&gldap.ControlPaging{Cookie: q.nextCookie})
	}
	_ = w.Write(done)
	d := l.srv.deps
	err = d.Audit.Record(context.WithoutCancel(ctx), d.Store, who.actor, events.Entry{
		Tenant: who.tenant.ID, Action: "ldap.search", TargetType: "ldap", TargetID: clip(m.BaseDN, maxDNLen),
		Changes: events.Changes{
			"scope": {After: scopeNames[m.Scope]}, "filter": {After: clip(m.Filter, maxFilterLen)},
			"entries": {After: q.sent}, "result": {After: code},
		}})
	if err != nil {
		d.Log.Error("ldap: audit search", "err", err)
	}
}

// clip bounds what a client sent before it is recorded (the request was
// refused if it was longer; the audit log keeps its start).
func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

var scopeNames = map[gldap.Scope]string{gldap.BaseObject: "base", gldap.SingleLevel: "one", gldap.WholeSubtree: "sub"}

// query is one search in progress.
type query struct {
	l     *listener
	w     *gldap.ResponseWriter
	r     *gldap.Request
	m     *gldap.SearchMessage
	who   *identity
	slug  string
	attrs attrSel

	paging     *gldap.ControlPaging
	nextCookie []byte
	sent       int
	max        int // entries this request may send
}

// run sends the entries and answers the result code and message.
func (q *query) run(ctx context.Context) (int, string) {
	cfg := q.l.srv.cfg
	q.slug = q.who.tenant.Slug
	q.attrs = selectAttrs(q.m.Attributes, q.m.TypesOnly)
	q.max = cfg.SizeLimit
	if q.m.SizeLimit > 0 && int(q.m.SizeLimit) < q.max {
		q.max = int(q.m.SizeLimit)
	}
	phase, after := phaseFixed, ""
	for _, c := range q.m.Controls {
		if p, ok := c.(*gldap.ControlPaging); ok {
			q.paging = p
		}
	}
	if q.paging != nil {
		if q.paging.PagingSize == 0 {
			return gldap.ResultSuccess, "" // RFC 2696: abandon the paged search
		}
		if int(q.paging.PagingSize) < q.max {
			q.max = int(q.paging.PagingSize)
		}
		var ok bool
		if phase, after, ok = parseCookie(q.paging.Cookie); !ok {
			return gldap.ResultUnwillingToPerform, "invalid paging cookie"
		}
	}
	f, err := parseFilter(q.m.Filter)
	if err != nil {
		return gldap.ResultUnwillingToPerform, "invalid or too complex filter"
	}
	base, err := parseDN(q.m.BaseDN)
	if err != nil {
		return gldap.ResultNoSuchObject, "no such object"
	}
	if base.kind == dnRootDSE {
		if q.m.Scope == gldap.BaseObject && phase == phaseFixed {
			q.rootDSE(f)
		}
		return gldap.ResultSuccess, ""
	}
	// Another tenant's tree, or a service account, is not there for you.
	if base.tenant != q.slug || base.kind == dnServicesOU || base.kind == dnService {
		return gldap.ResultNoSuchObject, "no such object"
	}
	plan, err := q.plan(ctx, base)
	if errors.Is(err, store.ErrNotFound) {
		return gldap.ResultNoSuchObject, "no such object"
	}
	if err != nil {
		return q.fail(ctx, err)
	}
	err = q.exec(ctx, plan, f, phase, after)
	switch {
	case errors.Is(err, errSearchLimit) && q.paging != nil:
		return gldap.ResultSuccess, ""
	case errors.Is(err, errSearchLimit):
		return gldap.ResultSizeLimitExceeded, "size limit exceeded"
	case err != nil:
		return q.fail(ctx, err)
	}
	q.nextCookie = nil
	return gldap.ResultSuccess, ""
}

func (q *query) fail(ctx context.Context, err error) (int, string) {
	if ctx.Err() != nil {
		return gldap.ResultTimeLimitExceeded, "time limit exceeded"
	}
	if errors.Is(err, store.ErrFilterTooComplex) {
		return gldap.ResultUnwillingToPerform, "invalid or too complex filter"
	}
	q.l.srv.deps.Log.Error("ldap: search", "err", err)
	return gldap.ResultOperationsError, "internal error"
}

// plan is what a base DN and scope cover: fixed entries, and users and
// groups narrowed by an extra condition (nil: not searched).
type plan struct {
	fixed  []fixedEntry
	users  *store.DirFilter
	groups *store.DirFilter
}

type fixedEntry struct {
	dn    string
	attrs map[string][]string
}

func (q *query) plan(ctx context.Context, base dnRef) (plan, error) {
	slug, scope := q.slug, q.m.Scope
	all := dirTrue
	root := fixedEntry{tenantDN(slug), map[string][]string{
		"objectClass": {"top", "dcObject", "organization"}, "dc": {slug}, "o": {q.who.tenant.Name}}}
	ou := func(name string) fixedEntry {
		return fixedEntry{ouDN(slug, name), map[string][]string{"objectClass": {"top", "organizationalUnit"}, "ou": {name}}}
	}
	var p plan
	switch base.kind {
	case dnTenant:
		switch scope {
		case gldap.BaseObject:
			p.fixed = []fixedEntry{root}
		case gldap.SingleLevel:
			p.fixed = []fixedEntry{ou(ouUsers), ou(ouGroups)}
		default:
			p.fixed = []fixedEntry{root, ou(ouUsers), ou(ouGroups)}
			p.users, p.groups = &all, &all
		}
	case dnUsersOU, dnGroupsOU:
		name := ouUsers
		if base.kind == dnGroupsOU {
			name = ouGroups
		}
		if scope != gldap.SingleLevel {
			p.fixed = []fixedEntry{ou(name)}
		}
		if scope != gldap.BaseObject {
			if base.kind == dnUsersOU {
				p.users = &all
			} else {
				p.groups = &all
			}
		}
	case dnUser, dnGroup:
		// The entry must exist, whatever the filter then says of it.
		field, kind := store.FieldUID, kindUser
		if base.kind == dnGroup {
			field, kind = store.FieldName, kindGroup
		}
		one := store.DirFilter{Op: store.DirEq, Field: field, Value: fold(base.value)}
		found, err := q.exists(ctx, kind, one)
		if err != nil {
			return p, err
		}
		if found == 0 {
			return p, store.ErrNotFound
		}
		if scope != gldap.SingleLevel {
			if kind == kindUser {
				p.users = &one
			} else {
				p.groups = &one
			}
		}
	}
	return p, nil
}

// exec sends the plan's entries from phase and after on, at most q.max.
func (q *query) exec(ctx context.Context, p plan, f node, phase int, after string) error {
	if phase == phaseFixed {
		// after counts the fixed entries already considered.
		start, _ := strconv.Atoi(after)
		for i := start; i < len(p.fixed); i++ {
			e := p.fixed[i]
			lower := map[string][]string{}
			for k, v := range e.attrs {
				lower[strings.ToLower(k)] = v
			}
			if !f.matches(lower) {
				continue
			}
			if q.sent >= q.max {
				q.nextCookie = cookie(phaseFixed, strconv.Itoa(i))
				return errSearchLimit
			}
			if err := q.send(e.dn, e.attrs); err != nil {
				return err
			}
		}
		phase, after = phaseUsers, ""
	}
	for ; phase < phaseDone; phase, after = phase+1, "" {
		narrow, kind := p.users, kindUser
		if phase == phaseGroups {
			narrow, kind = p.groups, kindGroup
		}
		if narrow == nil {
			continue
		}
		cond := simplify(store.DirFilter{Op: store.DirAnd, Sub: []store.DirFilter{*narrow, f.toStore(kind, q.slug)}})
		if cond.Op == store.DirFalse {
			continue
		}
		for {
			if err := ctx.Err(); err != nil {
				return err
			}
			room := q.max - q.sent
			// One more than there is room for tells whether entries remain.
			n := min(room+1, batch)
			last, got, err := q.page(ctx, kind, cond, after, n, room)
			if err != nil {
				return err
			}
			if got > room {
				q.nextCookie = cookie(phase, last)
				return errSearchLimit
			}
			if got < n {
				break
			}
			after = last
		}
	}
	return nil
}

// page reads up to n records of kind after after, sends at most room of
// them, and answers the id of the last one sent and how many were read.
func (q *query) page(ctx context.Context, kind entryKind, cond store.DirFilter, after string, n, room int) (string, int, error) {
	dir := q.l.srv.deps.Directory.Search() // a read replica when there is one
	last := after
	if kind == kindUser {
		us, err := dir.FilterUsers(ctx, q.who.tenant.ID, activeOnly(cond), store.Page{After: after, Limit: n})
		if err != nil {
			return "", 0, err
		}
		for i := range us[:min(len(us), room)] {
			attrs, err := q.userAttrs(ctx, &us[i])
			if err != nil {
				return "", 0, err
			}
			if err := q.send(userDN(q.slug, uidOf(&us[i])), attrs); err != nil {
				return "", 0, err
			}
			last = us[i].ID
		}
		return last, len(us), nil
	}
	gs, err := dir.FilterGroups(ctx, q.who.tenant.ID, cond, store.Page{After: after, Limit: n})
	if err != nil {
		return "", 0, err
	}
	for i := range gs[:min(len(gs), room)] {
		attrs, err := q.groupAttrs(ctx, &gs[i])
		if err != nil {
			return "", 0, err
		}
		if err := q.send(groupDN(q.slug, gs[i].Name), attrs); err != nil {
			return "", 0, err
		}
		last = gs[i].ID
	}
	return last, len(gs), nil
}

// exists answers 1 when a record of kind matches f, else 0.
func (q *query) exists(ctx context.Context, kind entryKind, f store.DirFilter) (int, error) {
	dir := q.l.srv.deps.Directory.Search() // a read replica when there is one
	if kind == kindUser {
		us, err := dir.FilterUsers(ctx, q.who.tenant.ID, activeOnly(f), store.Page{Limit: 1})
		return len(us), err
	}
	gs, err := dir.FilterGroups(ctx, q.who.tenant.ID, f, store.Page{Limit: 1})
	return len(gs), err
}

// activeOnly keeps users who may sign in: LDAP shows no disabled or
// locked account, so an application that authorises by directory entry
// sees them gone.
func activeOnly(f store.DirFilter) store.DirFilter {
	return store.DirFilter{Op: store.DirAnd, Sub: []store.DirFilter{
		{Op: store.DirEq, Field: store.FieldStatus, Value: string(store.UserActive)}, f}}
}

func (q *query) send(dn string, attrs map[string][]string) error {
	e := q.r.NewSearchResponseEntry(dn, gldap.WithAttributes(q.attrs.apply(attrs)))
	if err := q.w.Write(e); err != nil {
		return err
	}
	q.sent++
	return nil
}

// rootDSE answers the server's root entry to a base search of "".
func (q *query) rootDSE(f node) {
	attrs := map[string][]string{
		"objectClass":          {"top"},
		"namingContexts":       {tenantDN(q.slug)},
		"supportedLDAPVersion": {"3"},
		"supportedControl":     {pagingOID},
		"vendorName":           {"Gatehouse"},
	}
	if q.l.srv.tls != nil {
		attrs["supportedExtension"] = []string{startTLSOID}
	}
	lower := map[string][]string{}
	for k, v := range attrs {
		lower[strings.ToLower(k)] = v
	}
	if f.matches(lower) {
		_ = q.send("", attrs)
	}
}

func cookie(phase int, after string) []byte { return []byte(strconv.Itoa(phase) + ":" + after) }

// parseCookie reads a paging cookie: empty (the first page) or phase:id.
func parseCookie(c []byte) (int, string, bool) {
	if len(c) == 0 {
		return phaseFixed, "", true
	}
	if len(c) > maxCookieLen {
		return 0, "", false
	}
	p, after, ok := strings.Cut(string(c), ":")
	phase, err := strconv.Atoi(p)
	if !ok || err != nil || phase < phaseFixed || phase >= phaseDone {
		return 0, "", false
	}
	return phase, after, true
}
