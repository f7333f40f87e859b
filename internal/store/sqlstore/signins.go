package sqlstore

import (
	"context"
	"errors"
	"math"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

type signInRepo struct{ *scope }

var _ store.SignIns = signInRepo{}

func (s *scope) SignIns() store.SignIns { return signInRepo{s} }

// e6 is a coordinate in millionths of a degree (the column's unit).
func e6(deg float64) int64 { return int64(math.Round(deg * 1e6)) }

// AddSignIn inserts r and trims the user's records to the newest
// store.MaxSignInsPerUser, in one transaction.
func (r signInRepo) AddSignIn(ctx context.Context, s *store.SignInRecord) error {
	switch {
	case s.Tenant == "" || s.ID == "" || s.UserID == "" || s.At.IsZero():
		return errors.New("sqlstore: sign-in needs a tenant, an id, a user and a time")
	case len(s.ID) > 64 || len(s.Network) > 64 || len(s.Country) > 8 || len(s.City) > 200 || len(s.DeviceID) > 64:
		return errors.New("sqlstore: sign-in field too long")
	}
	if len(s.UserAgent) > 512 {
		s.UserAgent = s.UserAgent[:512]
	}
	s.At = micro(s.At)
	hasGeo := 0
	if s.HasGeo {
		hasGeo = 1
	}
	return r.write(ctx, func(q querier) error {
		if _, err := q.ExecContext(ctx, `INSERT INTO risk_sign_ins (tenant_id, id, user_id, at, network, country, city,
lat_e6, lon_e6, has_geo, asn, device_id, user_agent) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			string(s.Tenant), s.ID, s.UserID, s.At.UnixMicro(), s.Network, s.Country, s.City, e6(s.Lat), e6(s.Lon),
			hasGeo, int64(s.ASN), s.DeviceID, s.UserAgent); err != nil {
			return wrapErr("add sign-in", err)
		}
		_, err := q.ExecContext(ctx, `DELETE FROM risk_sign_ins WHERE tenant_id = $1 AND user_id = $2 AND id NOT IN (
    SELECT id FROM risk_sign_ins WHERE tenant_id = $1 AND user_id = $2 ORDER BY at DESC, id DESC LIMIT $3)`,
			string(s.Tenant), s.UserID, store.MaxSignInsPerUser)
		return wrapErr("trim sign-ins", err)
	})
}

// ListSignIns answers the user's newest records, newest first.
func (r signInRepo) ListSignIns(ctx context.Context, tenant store.TenantID, userID string, limit int) ([]store.SignInRecord, error) {
	if limit < 1 || limit > store.MaxSignInsPerUser {
		limit = store.MaxSignInsPerUser
	}
	rows, err := r.q.QueryContext(ctx, `SELECT id, user_id, at, network, country, city, lat_e6, lon_e6, has_geo, asn,
device_id, user_agent FROM risk_sign_ins WHERE tenant_id = $1 AND user_id = $2 ORDER BY at DESC, id DESC LIMIT $3`,
		string(tenant), userID, limit)
	if err != nil {
		return nil, wrapErr("list sign-ins", err)
	}
	defer rows.Close()
	var out []store.SignInRecord
	for rows.Next() {
		var (
			s                 store.SignInRecord
			at, lat, lon, asn int64
			hasGeo            int64
		)
		if err := rows.Scan(&s.ID, &s.UserID, &at, &s.Network, &s.Country, &s.City, &lat, &lon, &hasGeo, &asn,
			&s.DeviceID, &s.UserAgent); err != nil {
			return nil, wrapErr("list sign-ins", err)
		}
		s.Tenant, s.At, s.Lat, s.Lon, s.HasGeo, s.ASN = tenant, fromMicros(at), float64(lat)/1e6, float64(lon)/1e6, hasGeo != 0, uint32(asn)
		out = append(out, s)
	}
	return out, wrapErr("list sign-ins", rows.Err())
}

// DeleteSignIns deletes every record of the user.
func (r signInRepo) DeleteSignIns(ctx context.Context, tenant store.TenantID, userID string) error {
	return r.single(ctx, func(q querier) error {
		_, err := q.ExecContext(ctx, `DELETE FROM risk_sign_ins WHERE tenant_id = $1 AND user_id = $2`, string(tenant), userID)
		return wrapErr("delete sign-ins", err)
	})
}
