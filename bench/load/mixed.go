package main

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
)

// The mixed scenario is the soak's load (bench/soak.sh): password logins,
// token grants, refreshes, introspections, userinfo and SCIM reads
// interleaved in fixed proportions, so one run exercises every hot path at
// once and a leak in any of them shows as growth.

func init() {
	scenarios["mixed"] = scenario{name: "mixed", unit: "req", needs: needMixed, setup: setupMixed}
}

// mixWeights is one cycle of the mix: 20 iterations, 2 of them whole
// logins (the argon2id hash dominates their cost), the rest single requests.
var mixWeights = []struct {
	name   string
	weight int
}{
	{"auth_code", 2},
	{"client_credentials", 6},
	{"refresh", 4},
	{"introspection", 4},
	{"userinfo", 2},
	{"scim", 2},
}

func needMixed(t *target) error {
	if err := needCC(t); err != nil {
		return err
	}
	if err := needAC(t); err != nil {
		return err
	}
	if t.scimToken == "" {
		return errors.New("mixed needs a SCIM token (BENCH_SCIM_TOKEN): an API key with the scim scope")
	}
	return nil
}

// setupMixed sets every part of the mix up and answers an Op that runs
// them in mixWeights' order, cycling.
func setupMixed(t *target) (Op, func(), error) {
	parts := map[string]Op{
		"auth_code":          authCode(t),
		"client_credentials": clientCredentials(t),
		"scim":               scimRead(t),
	}
	var stops []func()
	for _, n := range []string{"refresh", "introspection", "userinfo"} {
		op, stop, err := scenarios[n].setup(t)
		if err != nil {
			for _, s := range stops {
				s()
			}
			return nil, nil, err
		}
		parts[n], stops = op, append(stops, stop)
	}
	var cycle []Op
	for _, w := range mixWeights {
		for range w.weight {
			cycle = append(cycle, parts[w.name])
		}
	}
	var i atomic.Uint64
	return func(ctx context.Context) error {
			return cycle[(i.Add(1)-1)%uint64(len(cycle))](ctx)
		}, func() {
			for _, s := range stops {
				s()
			}
		}, nil
}

// scimRead lists the first page of the tenant's users through SCIM.
func scimRead(t *target) Op {
	c := &http.Client{Transport: t.transport}
	u := t.tenantURL("/scim/v2/Users?count=10")
	return func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+t.scimToken)
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		return drain(resp, http.StatusOK)
	}
}
