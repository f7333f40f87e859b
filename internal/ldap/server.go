package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"github.com/hashicorp/go-hclog"
	"github.com/jimlambrt/gldap"

	"github.com/gatehouse-id/gatehouse/internal/config"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Limits of the listener.
const (
	// maxPacketBytes bounds one LDAP message. It is asn1-ber's package
	// variable, so it holds for the whole process (LDAP requests are small).
	maxPacketBytes = 256 << 10
	// connLifetime is how long a connection may stay open at all: gldap sets
	// one read and one write deadline when it accepts a connection.
	connLifetime = 10 * time.Minute
	// maxInFlight bounds the requests served at once on all connections;
	// past it a request is answered busy.
	maxInFlight = 64
	// maxPasswordLen bounds a bind password before it is hashed.
	maxPasswordLen = 1024
)

func init() { ber.MaxPacketLengthBytes = maxPacketBytes }

// Deps are the services the LDAP interface uses.
type Deps struct {
	Store     store.Store
	Directory *directory.Service
	Tenants   *tenancy.Service
	// Flow's CheckPassword is the login flow's throttled password check;
	// its MFA service decides whether a user may bind with a password
	// alone.
	Flow  *flow.Service
	Audit *events.Recorder
	Log   *slog.Logger
	Now   func() time.Time
}

// Server runs the LDAP listener and, with a certificate, the LDAPS one.
type Server struct {
	cfg   config.LDAPConfig
	deps  Deps
	tls   *tls.Config
	slots chan struct{}
	// inflight counts handlers running: gldap's Stop stops waiting for a
	// connection before its last requests finish, so Stop waits here too
	// (the database must outlive every handler).
	inflight sync.WaitGroup
	runMu    sync.Mutex
	stopping bool // set by Stop; later requests are answered unavailable

	mu        sync.Mutex
	listeners []*listener
}

// New checks cfg (loading the certificate) and builds a stopped server.
func New(cfg config.LDAPConfig, deps Deps) (*Server, error) {
	s := &Server{cfg: cfg, deps: deps, slots: make(chan struct{}, maxInFlight)}
	if s.deps.Now == nil {
		s.deps.Now = time.Now
	}
	switch {
	case (cfg.TLSCert == "") != (cfg.TLSKey == ""):
		return nil, errors.New("ldap: GATEHOUSE_LDAP_TLS_CERT and GATEHOUSE_LDAP_TLS_KEY go together")
	case cfg.LDAPSAddr != "" && cfg.TLSCert == "":
		return nil, errors.New("ldap: GATEHOUSE_LDAPS_ADDR needs GATEHOUSE_LDAP_TLS_CERT and GATEHOUSE_LDAP_TLS_KEY")
	case cfg.SizeLimit <= 0 || cfg.TimeLimit <= 0:
		return nil, errors.New("ldap: size and time limits must be positive")
	case deps.Flow == nil || deps.Flow.MFA == nil:
		// User binds apply the MFA policy (bind.go): no policy, no binds.
		return nil, errors.New("ldap: Deps.Flow with its MFA service is required")
	}
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return nil, fmt.Errorf("ldap: certificate: %w", err)
		}
		s.tls = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	return s, nil
}

// listener is one gldap server and the state of its connections (gldap
// numbers connections per server).
type listener struct {
	srv    *Server
	gl     *gldap.Server
	addr   string
	secure bool // LDAPS: every connection is TLS

	mu    sync.Mutex
	conns map[int]*connState
}

// connState is what a connection has established: TLS and a bind.
type connState struct {
	tls   bool
	bound *identity
	// netMu serialises reading the peer address with a StartTLS upgrade
	// (both touch gldap's connection); peer is read once, at the first
	// request.
	netMu    sync.Mutex
	peer     string
	peerRead bool
}

// peerOf answers the client address of the connection, read at its first
// request (see peerAddr).
func (c *connState) peerOf(r *gldap.Request) string {
	c.netMu.Lock()
	defer c.netMu.Unlock()
	if !c.peerRead {
		c.peer, c.peerRead = peerAddr(r), true
	}
	return c.peer
}

// identity is who a connection is bound as.
type identity struct {
	tenant *store.Tenant
	actor  events.Actor
	dn     string
}

// Start listens on the LDAP address and, when set, the LDAPS address, and
// returns once both accept connections.
func (s *Server) Start() error {
	if err := s.listen(s.cfg.Addr, false); err != nil {
		return err
	}
	if s.cfg.LDAPSAddr != "" {
		if err := s.listen(s.cfg.LDAPSAddr, true); err != nil {
			_ = s.Stop(context.Background())
			return err
		}
	}
	return nil
}

// Addr is the bound LDAP address; LDAPSAddr the LDAPS one ("" when none).
func (s *Server) Addr() string { return s.addr(false) }

// LDAPSAddr is the bound LDAPS address, "" when there is none.
func (s *Server) LDAPSAddr() string { return s.addr(true) }

func (s *Server) addr(secure bool) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		if l.secure == secure {
			return l.addr
		}
	}
	return ""
}

// listen starts one gldap server on addr. gldap listens by itself and
// exposes no listener, so port 0 is resolved first to a free port (bounded
// retries if it is taken in between).
func (s *Server) listen(addr string, secure bool) error {
	var lastErr error
	for range 3 {
		bound, err := resolvePort(addr)
		if err != nil {
			return fmt.Errorf("ldap: listen %s: %w", addr, err)
		}
		l := &listener{srv: s, addr: bound, secure: secure, conns: map[int]*connState{}}
		if lastErr = l.run(); lastErr == nil {
			s.mu.Lock()
			s.listeners = append(s.listeners, l)
			s.mu.Unlock()
			s.deps.Log.Info("ldap listening", "addr", bound, "ldaps", secure, "starttls", !secure && s.tls != nil)
			return nil
		}
		if _, port, _ := net.SplitHostPort(addr); port != "0" {
			break
		}
	}
	return fmt.Errorf("ldap: listen %s: %w", addr, lastErr)
}

func resolvePort(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port != "0" {
		return addr, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return net.JoinHostPort(host, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)), nil
}

// run starts the gldap server and waits until it accepts a connection.
func (l *listener) run() error {
	gl, err := gldap.NewServer(
		gldap.WithLogger(hclog.NewNullLogger()),
		gldap.WithReadTimeout(connLifetime), gldap.WithWriteTimeout(connLifetime),
		gldap.WithOnClose(l.closed))
	if err != nil {
		return err
	}
	mux, err := gldap.NewMux()
	if err != nil {
		return err
	}
	for _, e := range []error{
		mux.Bind(l.guard(l.bind)),
		mux.Search(l.guard(l.search)),
		mux.ExtendedOperation(l.guard(l.startTLS), gldap.ExtendedOperationStartTLS),
		mux.DefaultRoute(l.guard(l.unsupported)),
		gl.Router(mux),
	} {
		if e != nil {
			return e
		}
	}
	var opts []gldap.Option
	if l.secure {
		opts = append(opts, gldap.WithTLSConfig(l.srv.tls))
	}
	errc := make(chan error, 1)
	go func() { errc <- gl.Run(l.addr, opts...) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-errc:
			if err == nil {
				err = errors.New("stopped before it started")
			}
			return err
		case <-time.After(10 * time.Millisecond):
		}
		if !gl.Ready() {
			continue
		}
		if c, err := net.DialTimeout("tcp", l.addr, time.Second); err == nil {
			c.Close()
			l.gl = gl
			return nil
		}
	}
	_ = gl.Stop()
	return errors.New("did not start within 5s")
}

// Stop closes the listeners and waits, until ctx ends, for connections to
// finish their requests and close. gldap notices a stop only between
// requests, so an idle client can hold its connection until ctx ends.
func (s *Server) Stop(ctx context.Context) error {
	s.mu.Lock()
	ls := s.listeners
	s.listeners = nil
	s.mu.Unlock()
	done := make(chan error, len(ls))
	for _, l := range ls {
		go func() { done <- l.gl.Stop() }()
	}
	var errs []error
	for range ls {
		select {
		case err := <-done:
			errs = append(errs, err)
		case <-ctx.Done():
			s.deps.Log.Warn("ldap: connections still open at shutdown")
			return nil
		}
	}
	s.runMu.Lock()
	s.stopping = true // no Add after this, so Wait below is sound
	s.runMu.Unlock()
	handlers := make(chan struct{})
	go func() { s.inflight.Wait(); close(handlers) }()
	select {
	case <-handlers:
	case <-ctx.Done():
		s.deps.Log.Warn("ldap: requests still running at shutdown")
	}
	return errors.Join(errs...)
}

func (l *listener) state(id int) *connState {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.conns[id]
	if c == nil {
		c = &connState{tls: l.secure}
		l.conns[id] = c
	}
	return c
}

func (l *listener) setBound(id int, who *identity) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if c := l.conns[id]; c != nil {
		c.bound = who
	}
}

func (l *listener) isTLS(id int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.conns[id]
	return c != nil && c.tls
}

func (l *listener) closed(id int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.conns, id)
}

// guard bounds the requests in flight and keeps a panic in a handler from
// ending the process: gldap runs each request in a goroutine of its own,
// outside its own recovery.
func (l *listener) guard(h gldap.HandlerFunc) gldap.HandlerFunc {
	return func(w *gldap.ResponseWriter, r *gldap.Request) {
		if !l.srv.enter() {
			_ = w.Write(r.NewResponse(gldap.WithResponseCode(gldap.ResultUnavailable),
				gldap.WithDiagnosticMessage("server stopping")))
			return
		}
		defer l.srv.inflight.Done()
		defer func() {
			if v := recover(); v != nil {
				l.srv.deps.Log.Error("ldap: handler panic", "panic", fmt.Sprint(v))
				_ = w.Write(r.NewResponse(gldap.WithResponseCode(gldap.ResultOperationsError),
					gldap.WithDiagnosticMessage("internal error")))
			}
		}()
		select {
		case l.srv.slots <- struct{}{}:
			defer func() { <-l.srv.slots }()
		default:
			_ = w.Write(r.NewResponse(gldap.WithResponseCode(gldap.ResultBusy), gldap.WithDiagnosticMessage("server busy")))
			return
		}
		l.state(r.ConnectionID()).peerOf(r)
		h(w, r)
	}
}

// enter counts a handler in, unless the server is stopping.
func (s *Server) enter() bool {
	s.runMu.Lock()
	defer s.runMu.Unlock()
	if s.stopping {
		return false
	}
	s.inflight.Add(1)
	return true
}

func (l *listener) startTLS(w *gldap.ResponseWriter, r *gldap.Request) {
	id := r.ConnectionID()
	res := r.NewExtendedResponse(gldap.WithResponseCode(gldap.ResultSuccess))
	res.SetResponseName(gldap.ExtendedOperationStartTLS)
	switch {
	case l.srv.tls == nil:
		res.SetResultCode(gldap.ResultUnavailable)
		res.SetDiagnosticMessage("StartTLS is not configured")
		_ = w.Write(res)
		return
	case l.isTLS(id):
		res.SetResultCode(gldap.ResultOperationsError)
		res.SetDiagnosticMessage("TLS is already established")
		_ = w.Write(res)
		return
	}
	if err := w.Write(res); err != nil {
		return
	}
	st := l.state(id)
	st.netMu.Lock()
	err := r.StartTLS(l.srv.tls)
	st.netMu.Unlock()
	if err != nil {
		// The connection is in an unknown state; the client gives up on it.
		l.srv.deps.Log.Info("ldap: StartTLS handshake failed", "err", err)
		return
	}
	l.mu.Lock()
	if c := l.conns[id]; c != nil {
		c.tls = true
	}
	l.mu.Unlock()
}

// unsupported answers every write and every other operation: the
// interface is read-only.
func (l *listener) unsupported(w *gldap.ResponseWriter, r *gldap.Request) {
	_ = w.Write(r.NewResponse(gldap.WithResponseCode(gldap.ResultUnwillingToPerform),
		gldap.WithDiagnosticMessage("this directory is read-only over LDAP")))
}
