package ldap

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/jimlambrt/gldap"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/flow"
	"github.com/gatehouse-id/gatehouse/internal/mfa"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
)

// Bind outcomes recorded in the audit log.
const (
	bindOK           = "success"
	bindInvalid      = "invalid_credentials"
	bindThrottled    = "throttled"
	bindUserDisabled = "user_binds_disabled"
	bindMFARequired  = "mfa_required"
)

// bindTimeout bounds one bind (the password hash waits for a slot).
const bindTimeout = 30 * time.Second

// bind handles a simple bind. Every credential failure, whatever its cause
// (no such tenant, user or key, a wrong password, a disabled or locked
// account, too many attempts), is invalidCredentials, and a user bind always
// costs one password hash, so neither the answer nor its timing tells
// whether an account exists.
func (l *listener) bind(w *gldap.ResponseWriter, r *gldap.Request) {
	resp := r.NewBindResponse(gldap.WithResponseCode(gldap.ResultInvalidCredentials))
	answer := func(code int, msg string) {
		resp.SetResultCode(code)
		resp.SetDiagnosticMessage(msg)
		_ = w.Write(resp)
	}
	m, err := r.GetSimpleBindMessage()
	if err != nil {
		answer(gldap.ResultAuthMethodNotSupported, "only simple binds are supported")
		return
	}
	id := r.ConnectionID()
	// A bind, whatever its outcome, first drops the previous identity.
	l.setBound(id, nil)
	if m.UserName == "" && m.Password == "" {
		answer(gldap.ResultInappropriateAuthentication, "anonymous bind is not allowed")
		return
	}
	if m.Password == "" {
		// RFC 4513 5.1.2: an unauthenticated bind must not succeed.
		answer(gldap.ResultUnwillingToPerform, "a bind needs a password")
		return
	}
	if l.srv.tls != nil && !l.isTLS(id) {
		answer(gldap.ResultConfidentialityRequired, "use StartTLS or LDAPS before binding")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), bindTimeout)
	defer cancel()
	// Binds are throttled per account and source address, as logins are.
	who, code, err := l.authenticate(ctx, m.UserName, string(m.Password), l.state(id).peerOf(r))
	switch {
	case err != nil:
		l.srv.deps.Log.Error("ldap: bind", "err", err)
		answer(gldap.ResultOperationsError, "internal error")
	case code == gldap.ResultSuccess:
		l.setBound(id, who)
		answer(gldap.ResultSuccess, "")
	default:
		answer(gldap.ResultInvalidCredentials, "invalid credentials")
	}
}

// authenticate checks a bind DN and password. It answers the identity and
// ResultSuccess, or the result code of the failure; err only for failures
// of ours.
func (l *listener) authenticate(ctx context.Context, dn, password, ip string) (*identity, int, error) {
	d := l.srv.deps
	ref, err := parseDN(dn)
	var tenant *store.Tenant
	if err == nil && (ref.kind == dnUser || ref.kind == dnService) {
		tenant, err = d.Store.Tenants().GetTenantBySlug(ctx, ref.tenant)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, 0, err
		}
	}
	if tenant == nil || len(password) > maxPasswordLen {
		// Not a bindable DN of an existing tenant: cost what a wrong
		// password costs. Nothing to audit it under but the log.
		d.Directory.Hasher.VerifyDummy(password)
		d.Log.Info("ldap: bind refused", "reason", "unknown DN", "client_ip", ip)
		return nil, gldap.ResultInvalidCredentials, nil
	}
	actor := events.Actor{Type: "ldap", ClientIP: ip}
	audit := func(result, targetType, targetID string) error {
		return d.Audit.Record(ctx, d.Store, actor, events.Entry{Tenant: tenant.ID, Action: "ldap.bind",
			TargetType: targetType, TargetID: targetID,
			Changes: events.Changes{"dn": {After: dn}, "result": {After: result}}})
	}
	if ref.kind == dnService {
		who, err := l.serviceBind(ctx, tenant, ref.value, password)
		if err != nil {
			return nil, 0, err
		}
		if who == nil {
			return nil, gldap.ResultInvalidCredentials, audit(bindInvalid, "apikey", "")
		}
		who.actor.ClientIP, who.dn, actor = ip, dn, who.actor
		return who, gldap.ResultSuccess, audit(bindOK, "apikey", who.actor.ID)
	}
	set, err := tenancy.ParseSettings(tenant.Settings)
	if err != nil {
		return nil, 0, err
	}
	if !set.LDAP.UserBinds {
		// The answer and cost of a wrong password: a distinct one would
		// tell that the tenant exists.
		d.Directory.Hasher.VerifyDummy(password)
		return nil, gldap.ResultInvalidCredentials, audit(bindUserDisabled, "user", "")
	}
	// A bind proves only a password: when the user's MFA policy asks for
	// a second factor (or cannot be met), the right password is refused
	// as a wrong one (same answer, counted by the throttle), or binds
	// would be a password oracle that skips MFA.
	mfaRefused := false
	u, err := d.Flow.CheckPasswordThen(ctx, tenant.ID, ref.value, password, ip, func(u *store.User) (bool, error) {
		dec, err := d.Flow.MFA.Decide(ctx, tenant, u, "", nil)
		mfaRefused = err == nil && dec != mfa.Proceed
		return dec == mfa.Proceed, err
	})
	var throttled *flow.ThrottledError
	switch {
	case errors.Is(err, flow.ErrInvalidCredentials) && mfaRefused:
		return nil, gldap.ResultInvalidCredentials, audit(bindMFARequired, "user", "")
	case errors.Is(err, flow.ErrInvalidCredentials):
		return nil, gldap.ResultInvalidCredentials, audit(bindInvalid, "user", "")
	case errors.As(err, &throttled):
		return nil, gldap.ResultInvalidCredentials, audit(bindThrottled, "user", "")
	case err != nil:
		return nil, 0, err
	}
	actor = events.Actor{Type: "user", ID: u.ID, ClientIP: ip}
	return &identity{tenant: tenant, actor: actor, dn: dn}, gldap.ResultSuccess, audit(bindOK, "user", u.ID)
}

// serviceBind checks an API key bound as cn={key id},ou=services: the key
// must be the tenant's, active, and carry scope read or admin. nil when
// it is not.
func (l *listener) serviceBind(ctx context.Context, tenant *store.Tenant, keyID, token string) (*identity, error) {
	k, err := l.srv.deps.Tenants.AuthenticateAPIKey(ctx, token)
	if errors.Is(err, tenancy.ErrBadToken) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if k.ID != keyID || k.Tenant != tenant.ID ||
		!(slices.Contains(k.Scopes, tenancy.ScopeRead) || slices.Contains(k.Scopes, tenancy.ScopeAdmin)) {
		return nil, nil
	}
	return &identity{tenant: tenant, actor: events.Actor{Type: "apikey", ID: k.ID}}, nil
}
