package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

func init() {
	eventTests = append(eventTests, test{"Events/ClaimOrderPerUserUnderBacklog", testClaimOrderUnderBacklog})
}

// chainModel is what the test expects of one delivery.
type chainModel struct {
	d     store.EventDelivery
	chain string
	state store.DeliveryState
	due   time.Time // next attempt, or lease end while sending
}

// testClaimOrderUnderBacklog drives claims through a large backlog of many
// users' chains (two endpoints and a sink), with deliveries that succeed,
// fail and come back, die, are retried by hand, lose their lease, and new
// deliveries fanned out half way. Against a model of the chains it checks
// that every claim takes exactly the due heads (the oldest unfinished
// delivery of each chain), oldest first, up to the limit, so no user's
// deliveries overtake each other and no chain is left stuck; and that
// every delivery ends finished with each chain finished in seq order.
func testClaimOrderUnderBacklog(t *testing.T, s store.Store) {
	const users, first, later, limit = 60, 1500, 500, 32
	// A lost lease comes back after lease, still well after a failed
	// attempt's retry (1 to 3 s), so a chain waits behind it while others
	// move on. The clock advances a second per claim: with a minute's lease
	// about half the claims found nothing due, only waiting it out.
	const lease = 20 * time.Second
	tn := mkTenant(t, s)
	w1, w2 := mkWebhook(t, s, tn), mkWebhook(t, s, tn)
	rnd := rand.New(rand.NewPCG(18, 41))
	model := map[string]*chainModel{}
	var order []string // delivery ids in seq order
	now := time.Now().UTC().Truncate(time.Second)
	fanOut := func(n int) {
		var ds []store.EventDelivery
		for range n {
			u := fmt.Sprintf("user-%d", rnd.IntN(users))
			switch rnd.IntN(3) {
			case 0:
				ds = append(ds, delivery(tn, w1.ID, u))
			case 1:
				ds = append(ds, delivery(tn, w2.ID, u))
			default:
				ds = append(ds, store.EventDelivery{ID: newID(), Tenant: tn, EventID: newID(), EventType: "user.updated",
					Sink: "nats", UserKey: u})
			}
		}
		for i := 0; i < len(ds); i += 250 { // several fan-out rounds
			for _, d := range insertDeliveries(t, s, ds[i:min(i+250, len(ds))]) {
				model[d.ID] = &chainModel{d: d, chain: d.Sink + "/" + d.EndpointID + "/" + d.UserKey,
					state: store.DeliveryPending, due: d.NextAttemptAt}
				order = append(order, d.ID)
			}
		}
	}
	unfinished := func(m *chainModel) bool {
		return m.state == store.DeliveryPending || m.state == store.DeliveryFailed || m.state == store.DeliverySending
	}
	// wantClaim answers the due heads, oldest first, up to the limit.
	wantClaim := func(at time.Time) []string {
		seen := map[string]bool{}
		var out []string
		for _, id := range order {
			m := model[id]
			if !unfinished(m) || seen[m.chain] {
				continue
			}
			seen[m.chain] = true
			if !m.due.After(at) && len(out) < limit {
				out = append(out, id)
			}
		}
		return out
	}
	var dead []string
	retried := map[string]bool{} // finished out of order by an operator's hand
	dq := s.Events().Deliveries()
	finish := func(id string, state store.DeliveryState, next time.Time) {
		t.Helper()
		if err := dq.FinishAttempt(ctx(t), store.EventAttempt{DeliveryID: id, At: now, StatusCode: 500}, state, next); err != nil {
			t.Fatalf("FinishAttempt(%s): %v", state, err)
		}
		model[id].state, model[id].due = state, next
	}
	var finished []string // ids in the order they finished
	fanOut(first)
	for round := 0; ; round++ {
		if round == 10 {
			fanOut(later)
		}
		if round > 2000 {
			t.Fatal("backlog not drained in 2000 claims")
		}
		want := wantClaim(now)
		got, err := dq.ClaimDeliveries(ctx(t), []string{store.SinkWebhook, "nats"}, now, lease, limit)
		if err != nil {
			t.Fatalf("claim: %v", err)
		}
		if !slices.Equal(deliveryIDs(got), want) {
			t.Fatalf("round %d: claimed %d %v;\nwant the %d due heads %v", round, len(got), deliveryIDs(got), len(want), want)
		}
		for _, d := range got {
			m := model[d.ID]
			m.state, m.due = store.DeliverySending, now.Add(lease)
			switch r := rnd.IntN(20); {
			case r < 14:
				finish(d.ID, store.DeliveryDelivered, now)
				finished = append(finished, d.ID)
			case r < 17:
				finish(d.ID, store.DeliveryFailed, now.Add(time.Duration(1+rnd.IntN(3))*time.Second))
			case r < 18:
				finish(d.ID, store.DeliveryDead, now)
				finished = append(finished, d.ID)
				dead = append(dead, d.ID)
			default: // the node died: the lease runs out
			}
		}
		// Now and then an operator retries a dead delivery: it is
		// unfinished again and heads its chain before anything newer.
		if round%7 == 6 && len(dead) > 0 {
			id := dead[0]
			dead = dead[1:]
			if err := dq.RetryDelivery(ctx(t), tn, id, now); err != nil {
				t.Fatalf("RetryDelivery: %v", err)
			}
			model[id].state, model[id].due = store.DeliveryPending, now
			retried[id] = true
		}
		if len(got) == 0 {
			if len(wantClaim(now.Add(2*time.Minute))) == 0 {
				break
			}
		}
		now = now.Add(time.Second)
	}
	// Each chain finished in seq order (but for the deliveries retried by
	// hand, whose order wantClaim checked).
	last := map[string]int64{}
	for _, id := range finished {
		m := model[id]
		if retried[id] {
			continue
		}
		if m.d.Seq < last[m.chain] {
			t.Fatalf("chain %s: delivery %d finished after %d", m.chain, m.d.Seq, last[m.chain])
		}
		last[m.chain] = m.d.Seq
	}
	for id, m := range model {
		if unfinished(m) {
			t.Fatalf("delivery %s left %s", id, m.state)
		}
	}
}
