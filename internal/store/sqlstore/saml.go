package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// samlRepos are the SAML identity provider's aggregates, bound to the same
// scope (pool or InTx transaction) as the directory's.
type samlRepos struct{ *scope }

var _ store.SAMLRepos = samlRepos{}

func (s *scope) SAML() store.SAMLRepos { return samlRepos{s} }

func (o samlRepos) ServiceProviders() store.SAMLServiceProviders { return samlSPRepo{o.scope} }
func (o samlRepos) Requests() store.SAMLRequests                 { return samlRequestRepo{o.scope} }
func (o samlRepos) Participants() store.SAMLParticipants         { return samlParticipantRepo{o.scope} }
func (o samlRepos) Consents() store.SAMLConsents                 { return samlConsentRepo{o.scope} }

type samlSPRepo struct{ *scope }

const samlSPCols = `tenant_id, id, name, entity_id, acs, slo_url, slo_binding, certificate, name_id_format,
attribute_mapping, sign_assertion, sign_response, encrypt_assertion, requests_signed, version, created_at, updated_at, default_relay_state, consent_required`

func scanSAMLSP(r scanner) (*store.SAMLServiceProvider, error) {
	var (
		sp                   store.SAMLServiceProvider
		tenant, acs, mapping string
		created, updated     int64
	)
	err := r.Scan(&tenant, &sp.ID, &sp.Name, &sp.EntityID, &acs, &sp.SLOURL, &sp.SLOBinding, &sp.Certificate,
		&sp.NameIDFormat, &mapping, &sp.SignAssertion, &sp.SignResponse, &sp.EncryptAssertion, &sp.RequestsSigned,
		&sp.Version, &created, &updated, &sp.DefaultRelayState, &sp.ConsentRequired)
	if err != nil {
		return nil, err
	}
	sp.Tenant = store.TenantID(tenant)
	if err := json.Unmarshal([]byte(acs), &sp.ACS); err != nil {
		return nil, err
	}
	if len(sp.ACS) == 0 {
		sp.ACS = nil
	}
	if err := json.Unmarshal([]byte(mapping), &sp.AttributeMapping); err != nil {
		return nil, err
	}
	if len(sp.AttributeMapping) == 0 {
		sp.AttributeMapping = nil
	}
	sp.CreatedAt, sp.UpdatedAt = fromMicros(created), fromMicros(updated)
	return &sp, nil
}

// normSAMLSP makes sp what it reads back as: empty lists and maps nil,
// deep copies of both.
func normSAMLSP(sp *store.SAMLServiceProvider) {
	if len(sp.ACS) == 0 {
		sp.ACS = nil
	} else {
		sp.ACS = append([]store.SAMLEndpoint(nil), sp.ACS...)
	}
	if len(sp.AttributeMapping) == 0 {
		sp.AttributeMapping = nil
	} else {
		m := make(map[string]string, len(sp.AttributeMapping))
		for k, v := range sp.AttributeMapping {
			m[k] = v
		}
		sp.AttributeMapping = m
	}
}

func acsJSON(l []store.SAMLEndpoint) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // plain structs always marshal
	return string(b)
}

func validSAMLSP(sp *store.SAMLServiceProvider) error {
	if sp.ID == "" || sp.Tenant == "" || sp.EntityID == "" {
		return errors.New("sqlstore: service provider needs an id, a tenant and an entity id")
	}
	return nil
}

// CreateSP inserts sp with Version 1.
func (r samlSPRepo) CreateSP(ctx context.Context, sp *store.SAMLServiceProvider) error {
	if err := validSAMLSP(sp); err != nil {
		return err
	}
	n := *sp
	normSAMLSP(&n)
	n.Version = 1
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	if n.UpdatedAt.IsZero() {
		n.UpdatedAt = n.CreatedAt
	}
	n.UpdatedAt = micro(n.UpdatedAt)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO saml_sps (`+samlSPCols+`) VALUES (`+placeholders(0, 19)+`)`,
			string(n.Tenant), n.ID, n.Name, n.EntityID, acsJSON(n.ACS), n.SLOURL, n.SLOBinding, n.Certificate,
			n.NameIDFormat, mappingJSON(n.AttributeMapping), n.SignAssertion, n.SignResponse, n.EncryptAssertion,
			n.RequestsSigned, n.Version, n.CreatedAt.UnixMicro(), n.UpdatedAt.UnixMicro(), n.DefaultRelayState, n.ConsentRequired)
		return wrapErr("create service provider", err)
	})
	if err != nil {
		return err
	}
	*sp = n
	return nil
}

func (r samlSPRepo) get(ctx context.Context, q querier, op, where, lock string, args ...any) (*store.SAMLServiceProvider, error) {
	sp, err := scanSAMLSP(q.QueryRowContext(ctx, `SELECT `+samlSPCols+` FROM saml_sps WHERE `+where+lock, args...))
	return sp, wrapErr(op, err)
}

func (r samlSPRepo) GetSP(ctx context.Context, tenant store.TenantID, id string) (*store.SAMLServiceProvider, error) {
	return r.get(ctx, r.q, "get service provider", "tenant_id = $1 AND id = $2", "", string(tenant), id)
}

func (r samlSPRepo) GetSPByEntityID(ctx context.Context, tenant store.TenantID, entityID string) (*store.SAMLServiceProvider, error) {
	return r.get(ctx, r.q, "get service provider", "tenant_id = $1 AND entity_id = $2", "", string(tenant), entityID)
}

// ListSPs pages the tenant's service providers by id.
func (r samlSPRepo) ListSPs(ctx context.Context, tenant store.TenantID, p store.Page) ([]store.SAMLServiceProvider, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+samlSPCols+` FROM saml_sps WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		string(tenant), p.After, p.ClampLimit())
	if err != nil {
		return nil, wrapErr("list service providers", err)
	}
	return collect(rows, "list service providers", scanSAMLSP)
}

func (r samlSPRepo) UpdateSP(ctx context.Context, tenant store.TenantID, id string, fn func(*store.SAMLServiceProvider) error) (*store.SAMLServiceProvider, error) {
	const op = "update service provider"
	var out *store.SAMLServiceProvider
	err := r.write(ctx, func(q querier) error {
		old, err := r.get(ctx, q, op, "tenant_id = $1 AND id = $2", r.forUpdate(), string(tenant), id)
		if err != nil {
			return err
		}
		n := *old
		normSAMLSP(&n) // deep copies, so fn cannot reach old
		if err := fn(&n); err != nil {
			return err
		}
		if n.ID != old.ID || n.Tenant != old.Tenant {
			return errors.New("sqlstore: update service provider: the closure changed the id or tenant")
		}
		if err := validSAMLSP(&n); err != nil {
			return err
		}
		normSAMLSP(&n)
		n.Version, n.CreatedAt, n.UpdatedAt = old.Version+1, old.CreatedAt, r.db.nowMicro()
		res, err := q.ExecContext(ctx, `UPDATE saml_sps SET name = $1, entity_id = $2, acs = $3, slo_url = $4,
slo_binding = $5, certificate = $6, name_id_format = $7, attribute_mapping = $8, sign_assertion = $9,
sign_response = $10, encrypt_assertion = $11, requests_signed = $12, version = $13, updated_at = $14, default_relay_state = $18,
consent_required = $19
WHERE tenant_id = $15 AND id = $16 AND version = $17`,
			n.Name, n.EntityID, acsJSON(n.ACS), n.SLOURL, n.SLOBinding, n.Certificate, n.NameIDFormat,
			mappingJSON(n.AttributeMapping), n.SignAssertion, n.SignResponse, n.EncryptAssertion, n.RequestsSigned,
			n.Version, n.UpdatedAt.UnixMicro(), string(n.Tenant), n.ID, old.Version, n.DefaultRelayState, n.ConsentRequired)
		if err != nil {
			return wrapErr(op, err)
		}
		if err := guardRow(res, op); err != nil {
			return err
		}
		out = &n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteSP deletes the provider; the foreign keys cascade to its pending
// requests and participations.
func (r samlSPRepo) DeleteSP(ctx context.Context, tenant store.TenantID, id string) error {
	return r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM saml_sps WHERE tenant_id = $1 AND id = $2`, string(tenant), id)
		if err != nil {
			return wrapErr("delete service provider", err)
		}
		return oneRow(res, "delete service provider")
	})
}

type samlRequestRepo struct{ *scope }

const samlRequestCols = `tenant_id, id, sp_id, request_id, acs_url, acs_binding, relay_state, force_authn, is_passive,
authn_context, authn_context_comparison, name_id_format, used, created_at, expires_at`

func scanSAMLRequest(r scanner) (*store.SAMLRequest, error) {
	var (
		x                store.SAMLRequest
		tenant, ctxList  string
		created, expires int64
	)
	err := r.Scan(&tenant, &x.ID, &x.SPID, &x.RequestID, &x.ACSURL, &x.ACSBinding, &x.RelayState, &x.ForceAuthn,
		&x.IsPassive, &ctxList, &x.AuthnContextComparison, &x.NameIDFormat, &x.Used, &created, &expires)
	if err != nil {
		return nil, err
	}
	x.Tenant = store.TenantID(tenant)
	if err := parseList(ctxList, &x.AuthnContext); err != nil {
		return nil, err
	}
	x.CreatedAt, x.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &x, nil
}

func (r samlRequestRepo) CreateRequest(ctx context.Context, x *store.SAMLRequest) error {
	if x.ID == "" || x.Tenant == "" || x.SPID == "" {
		return errors.New("sqlstore: saml request needs an id, a tenant and a service provider")
	}
	n := *x
	n.AuthnContext = normList(n.AuthnContext)
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt, n.ExpiresAt = micro(n.CreatedAt), micro(n.ExpiresAt)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO saml_requests (`+samlRequestCols+`) VALUES (`+placeholders(0, 15)+`)`,
			string(n.Tenant), n.ID, n.SPID, n.RequestID, n.ACSURL, n.ACSBinding, n.RelayState, n.ForceAuthn, n.IsPassive,
			listJSON(n.AuthnContext), n.AuthnContextComparison, n.NameIDFormat, n.Used,
			n.CreatedAt.UnixMicro(), n.ExpiresAt.UnixMicro())
		return wrapErr("create saml request", err)
	})
	if err != nil {
		return err
	}
	*x = n
	return nil
}

func (r samlRequestRepo) GetRequest(ctx context.Context, tenant store.TenantID, id string) (*store.SAMLRequest, error) {
	x, err := scanSAMLRequest(r.q.QueryRowContext(ctx, `SELECT `+samlRequestCols+` FROM saml_requests
WHERE tenant_id = $1 AND id = $2 AND expires_at > $3`, string(tenant), id, r.db.nowMicro().UnixMicro()))
	return x, wrapErr("get saml request", err)
}

// ConsumeRequest is one conditional UPDATE: exactly one caller flips used.
func (r samlRequestRepo) ConsumeRequest(ctx context.Context, tenant store.TenantID, id string) (*store.SAMLRequest, error) {
	const op = "consume saml request"
	now := r.db.nowMicro().UnixMicro()
	var won *store.SAMLRequest
	err := r.single(ctx, func(q querier) error {
		x, err := scanSAMLRequest(q.QueryRowContext(ctx, `UPDATE saml_requests SET used = TRUE
WHERE tenant_id = $1 AND id = $2 AND used = FALSE AND expires_at > $3
RETURNING `+samlRequestCols, string(tenant), id, now))
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		won = x
		return wrapErr(op, err)
	})
	if err != nil || won != nil {
		return won, err
	}
	if _, err := r.GetRequest(ctx, tenant, id); err != nil {
		return nil, err
	}
	return nil, fmt.Errorf("sqlstore: %s: used before: %w", op, store.ErrConflict)
}

func (r samlRequestRepo) DeleteExpired(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := r.single(ctx, func(q querier) error {
		res, err := q.ExecContext(ctx, `DELETE FROM saml_requests WHERE expires_at <= $1`, before.UnixMicro())
		if err != nil {
			return wrapErr("delete expired saml requests", err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

type samlParticipantRepo struct{ *scope }

const samlParticipantCols = `tenant_id, session_id, sp_id, name_id, name_id_format, session_index, created_at`

func scanSAMLParticipant(r scanner) (*store.SAMLParticipant, error) {
	var (
		p       store.SAMLParticipant
		tenant  string
		created int64
	)
	if err := r.Scan(&tenant, &p.SessionID, &p.SPID, &p.NameID, &p.NameIDFormat, &p.SessionIndex, &created); err != nil {
		return nil, err
	}
	p.Tenant, p.CreatedAt = store.TenantID(tenant), fromMicros(created)
	return &p, nil
}

// AddParticipant upserts on (tenant, session, provider).
func (r samlParticipantRepo) AddParticipant(ctx context.Context, p *store.SAMLParticipant) error {
	n := *p
	if n.CreatedAt.IsZero() {
		n.CreatedAt = r.db.now()
	}
	n.CreatedAt = micro(n.CreatedAt)
	err := r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `INSERT INTO saml_participants (`+samlParticipantCols+`) VALUES (`+placeholders(0, 7)+`)
ON CONFLICT (tenant_id, session_id, sp_id) DO UPDATE SET name_id = excluded.name_id,
name_id_format = excluded.name_id_format, session_index = excluded.session_index, created_at = excluded.created_at`,
			string(n.Tenant), n.SessionID, n.SPID, n.NameID, n.NameIDFormat, n.SessionIndex, n.CreatedAt.UnixMicro())
		return wrapErr("add saml participant", err)
	})
	if err != nil {
		return err
	}
	*p = n
	return nil
}

func (r samlParticipantRepo) ListParticipants(ctx context.Context, tenant store.TenantID, sessionID string) ([]store.SAMLParticipant, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+samlParticipantCols+` FROM saml_participants
WHERE tenant_id = $1 AND session_id = $2 ORDER BY created_at, sp_id`, string(tenant), sessionID)
	if err != nil {
		return nil, wrapErr("list saml participants", err)
	}
	return collect(rows, "list saml participants", scanSAMLParticipant)
}

func (r samlParticipantRepo) FindParticipants(ctx context.Context, tenant store.TenantID, spID, nameID string) ([]store.SAMLParticipant, error) {
	rows, err := r.q.QueryContext(ctx, `SELECT `+samlParticipantCols+` FROM saml_participants
WHERE tenant_id = $1 AND sp_id = $2 AND name_id = $3 ORDER BY created_at, session_id LIMIT 100`, string(tenant), spID, nameID)
	if err != nil {
		return nil, wrapErr("find saml participants", err)
	}
	return collect(rows, "find saml participants", scanSAMLParticipant)
}
