package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeKratos answers the two API flows as Kratos does: a flow id from
// GET .../api, then a JSON submission to ?flow=ID that must name a flow it
// handed out, once.
func fakeKratos(t *testing.T, password string) (*httptest.Server, *atomic.Int64) {
	var mu sync.Mutex
	flows := map[string]string{}
	var n, ok atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/api") {
			id := fmt.Sprintf("flow-%d", n.Add(1))
			mu.Lock()
			flows[id] = strings.TrimSuffix(r.URL.Path, "/api")
			mu.Unlock()
			json.NewEncoder(w).Encode(map[string]string{"id": id})
			return
		}
		mu.Lock()
		path, known := flows[r.URL.Query().Get("flow")]
		delete(flows, r.URL.Query().Get("flow"))
		mu.Unlock()
		var body struct {
			Method, Identifier, Password string
			Traits                       map[string]string
		}
		if r.Method != http.MethodPost || !known || path != r.URL.Path || r.Header.Get("Content-Type") != "application/json" ||
			json.NewDecoder(r.Body).Decode(&body) != nil || body.Method != "password" {
			http.Error(w, `{"error":{"code":400}}`, http.StatusBadRequest)
			return
		}
		switch path {
		case "/self-service/login":
			if body.Password != password || !strings.HasSuffix(body.Identifier, "@example.com") {
				http.Error(w, `{"ui":{"messages":[{"id":4000006}]}}`, http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"session_token":"ory_st_x","session":{}}`))
		case "/self-service/registration":
			if body.Password == "" || !strings.HasSuffix(body.Traits["email"], "@example.com") {
				http.Error(w, `{"ui":{}}`, http.StatusBadRequest)
				return
			}
			w.Write([]byte(`{"identity":{"id":"i"}}`))
		}
		ok.Add(1)
	}))
	t.Cleanup(srv.Close)
	return srv, &ok
}

func TestKratosScenariosAgainstAFakeServer(t *testing.T) {
	srv, ok := fakeKratos(t, "pw")
	base, err := checkTarget(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	tg := &target{base: base, user: "bench%d@example.com", password: "pw", transport: newTransport(2), concurrency: 2}
	cfg := Config{Duration: time.Second, MaxRequests: 20, Concurrency: 2}
	for _, name := range []string{"kratos_login", "kratos_registration"} {
		ok.Store(0)
		if err := scenarios[name].needs; err != nil && err(tg) != nil {
			t.Fatalf("%s needs: %v", name, err(tg))
		}
		op, stop, err := scenarios[name].setup(tg)
		if err != nil {
			t.Fatal(err)
		}
		res := Run(context.Background(), cfg, op)
		stop()
		if res.Requests != 20 || res.Errors != 0 || ok.Load() != 20 {
			t.Fatalf("%s: requests %d errors %d accepted %d first %v", name, res.Requests, res.Errors, ok.Load(), res.FirstErr)
		}
	}
	tg.password = "wrong"
	res := Run(context.Background(), Config{Duration: time.Second, MaxRequests: 3, Concurrency: 1}, kratosLogin(tg))
	if res.Errors != 3 || !errors.Is(res.FirstErr, errStatus) {
		t.Fatalf("wrong password: errors %d, first %v", res.Errors, res.FirstErr)
	}
	if err := needKratosLogin(&target{}); err == nil {
		t.Error("kratos_login without a user: no error")
	}
}
