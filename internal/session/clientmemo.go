package session

import (
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// clientMemoMax bounds the memo; past it, it starts over.
const clientMemoMax = 50000

type sessionClient struct {
	tenant   store.TenantID
	session  string
	clientID string
}

// clientMemo is the set of (session, client) pairs this node knows to be
// recorded (see Service.AddClient). Its zero value is empty and ready.
type clientMemo struct {
	mu sync.Mutex
	m  map[sessionClient]struct{}
}

func (c *clientMemo) has(k sessionClient) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[k]
	return ok
}

func (c *clientMemo) add(k sessionClient) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= clientMemoMax {
		c.m = map[sessionClient]struct{}{}
	}
	c.m[k] = struct{}{}
}
