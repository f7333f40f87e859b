package store

import (
	"context"
	"time"
)

// SignInRecord is one completed sign-in as the risk engine keeps it: when,
// from which network and approximate place, with which device. It is the
// user's personal data (export, erasure) and the history that familiarity
// and travel are judged against; an attempt that did not complete is never
// one.
type SignInRecord struct {
	Tenant  TenantID
	ID      string
	UserID  string
	At      time.Time
	Network string // the /24 (IPv4) or /48 (IPv6) of the address
	Country string // ISO 3166-1 alpha-2, "" unknown
	City    string
	Lat     float64
	Lon     float64
	HasGeo  bool // Lat and Lon are known
	ASN     uint32
	// DeviceID is the known device (device cookie) it came from, "" none.
	DeviceID  string
	UserAgent string
}

// SignIns stores users' completed sign-ins for the risk engine, at most
// MaxSignInsPerUser per user (the oldest go first).
type SignIns interface {
	// AddSignIn stores r and trims the user's records to the newest
	// MaxSignInsPerUser, in one transaction.
	AddSignIn(ctx context.Context, r *SignInRecord) error
	// ListSignIns answers the user's newest records, newest first, at
	// most limit (clamped to 1..MaxSignInsPerUser).
	ListSignIns(ctx context.Context, tenant TenantID, userID string, limit int) ([]SignInRecord, error)
	// DeleteSignIns deletes every record of the user.
	DeleteSignIns(ctx context.Context, tenant TenantID, userID string) error
}

// MaxSignInsPerUser bounds the sign-ins kept per user.
const MaxSignInsPerUser = 50
