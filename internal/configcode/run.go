package configcode

import (
	"context"
	"errors"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/connection"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/oauthclient"
	"github.com/gatehouse-id/gatehouse/internal/samlreg"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Services are the services a configuration is read and applied through.
type Services struct {
	Store       store.Store
	Tenants     *tenancy.Service
	Clients     *oauthclient.Service
	SAMLSPs     *samlreg.Service
	Connections *connection.Service
	Authz       *authz.Service
	Directory   *directory.Service
}

// joinedStore is a Store whose calls, InTx included, all run in one
// transaction already open: the services built on it take part in the
// caller's transaction instead of opening their own.
type joinedStore struct {
	store.Repos
	dialect string
}

func (j joinedStore) InTx(_ context.Context, fn func(store.Repos) error) error { return fn(j.Repos) }
func (j joinedStore) Ping(context.Context) error                               { return nil }
func (j joinedStore) Dialect() string                                          { return j.dialect }
func (j joinedStore) Close() error                                             { return nil }

var _ store.Store = joinedStore{}

// in answers services like s whose every store call runs on tx.
func (s *Services) in(tx store.Repos) *Services {
	st := joinedStore{Repos: tx, dialect: s.Store.Dialect()}
	return &Services{
		Store:       st,
		Tenants:     &tenancy.Service{Store: st, Keys: s.Tenants.Keys, Audit: s.Tenants.Audit, Now: s.Tenants.Now},
		Clients:     &oauthclient.Service{Store: st, Audit: s.Clients.Audit, Now: s.Clients.Now},
		SAMLSPs:     &samlreg.Service{Store: st, Audit: s.SAMLSPs.Audit, Now: s.SAMLSPs.Now},
		Connections: &connection.Service{Store: st, Audit: s.Connections.Audit, Sealer: s.Connections.Sealer, Policy: s.Connections.Policy, Now: s.Connections.Now},
		Authz:       &authz.Service{Store: st, Audit: s.Authz.Audit, Log: s.Authz.Log, Now: s.Authz.Now},
		Directory:   &directory.Service{Store: st, Hasher: s.Directory.Hasher, Audit: s.Directory.Audit, Now: s.Directory.Now},
	}
}

// Options steer a plan or an apply.
type Options struct {
	// Prune deletes the objects of managed kinds the files do not declare.
	Prune bool
	// Resolver reads secret references.
	Resolver Resolver
	// Actor is who the audit log names for applied changes.
	Actor events.Actor
}

// ApplyActor is the audit actor of an apply: "config apply", with the
// configuration's source (a git commit) when given, and the API key that
// asked when it came through the API.
func ApplyActor(source, apiKey string) events.Actor {
	id := "config apply"
	if source != "" {
		id += " " + source
	}
	if apiKey != "" {
		id += " (api key " + apiKey + ")"
	}
	return events.Actor{Type: "config", ID: id}
}

// run is one plan or apply.
type run struct {
	svc     *Services
	opt     Options
	ps      problems
	secrets map[string]string // reference -> value
}

// MakePlan answers what applying cfg would change. Every change is tried
// in a transaction that is rolled back, so the plan also reports what the
// services would refuse (as *Error, with file, line and key).
func MakePlan(ctx context.Context, s *Services, cfg *Config, opt Options) (*Plan, error) {
	return execute(ctx, s, cfg, opt, false)
}

// Apply makes the live state what cfg declares, in one transaction for
// the whole configuration: every change is made through the services
// (validated and audited as opt.Actor), and if any fails nothing is
// changed and the *Error lists every problem. The plan returned is what
// was applied, with the ids of created objects.
func Apply(ctx context.Context, s *Services, cfg *Config, opt Options) (*Plan, error) {
	return execute(ctx, s, cfg, opt, true)
}

func execute(ctx context.Context, s *Services, cfg *Config, opt Options, commit bool) (*Plan, error) {
	r := &run{opt: opt}
	if err := r.resolveSecrets(cfg); err != nil {
		return nil, err
	}
	var plan *Plan
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		r.svc = s.in(tx)
		plan = &Plan{Tenants: []TenantPlan{}}
		for _, td := range cfg.Tenants {
			tp, err := r.tenant(ctx, td)
			if err != nil {
				return err
			}
			plan.Tenants = append(plan.Tenants, tp)
		}
		if err := r.ps.err(); err != nil {
			return err
		}
		if !commit {
			return errRollback
		}
		return nil
	})
	if errors.Is(err, errRollback) {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return plan, nil
}

// tenant plans one tenant and makes its changes.
func (r *run) tenant(ctx context.Context, td *TenantDecl) (TenantPlan, error) {
	t, err := r.tenantBySlug(ctx, td.Slug)
	if err != nil {
		return TenantPlan{}, err
	}
	var l *live
	if t != nil {
		if l, err = readLive(ctx, r.svc, t); err != nil {
			return TenantPlan{}, err
		}
	}
	before := len(r.ps.list)
	tp, err := r.diffTenant(ctx, td, l)
	if err != nil || len(r.ps.list) > before {
		return tp, err // a change the files cannot make: this tenant is not tried
	}
	return tp, r.applyTenant(ctx, td, l, &tp)
}

// resolveSecrets reads every reference once, before anything changes.
func (r *run) resolveSecrets(cfg *Config) error {
	r.secrets = map[string]string{}
	for _, td := range cfg.Tenants {
		for _, d := range td.objects["connections"] {
			ref, ok := d.fields["client_secret"].(string)
			if !ok {
				continue
			}
			if _, done := r.secrets[ref]; done {
				continue
			}
			v, err := r.opt.Resolver.Resolve(ref)
			if err != nil {
				r.ps.add(d.line("client_secret"), "tenants["+td.Slug+"].connections["+d.Key+"].client_secret", "%v", err)
				continue
			}
			r.secrets[ref] = v
		}
	}
	return r.ps.err()
}
