package flow

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/netip"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse-id/gatehouse/internal/notice"
	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The device cookie (the OWASP "device cookie" pattern): at every sign-in
// the browser receives a long-lived cookie naming a known device of the
// user, "gh_dc_{id}.{mac}", where mac is an HMAC-SHA256 over tenant, user
// and id with a key derived from the master key. The store keeps the
// device (store.Recognition) so it can be forgotten; the cookie cannot be
// forged or moved to another user. A password login from a known device
// of the account is let through the per-account and per-network throttle
// (throttle.go), so an attacker elsewhere cannot lock the owner out. The
// same record is the risk engine's "seen this device before" signal.

// DeviceLifetime is how long a device stays known after its last sign-in.
const DeviceLifetime = 180 * 24 * time.Hour

// knownNetworkFor is how long a source network stays known after a
// sign-in from it.
const knownNetworkFor = 90 * 24 * time.Hour

const devicePrefix = "gh_dc_"

type deviceKey struct{}

// WithDeviceCookie carries a browser's device cookie value to the login
// flow; CheckPassword recognises it.
func WithDeviceCookie(ctx context.Context, value string) context.Context {
	if value == "" || len(value) > 128 {
		return ctx
	}
	return context.WithValue(ctx, deviceKey{}, value)
}

// SourceNetwork is the network a login is counted and recognised under:
// an IPv4 address itself (a /24 would join unrelated customers of one
// provider, and NAT already joins a household), the /64 of an IPv6 address
// (one host usually holds a whole /64). "" for anything that is not an
// address.
func SourceNetwork(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ""
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, err := a.Prefix(64)
	if err != nil {
		return ""
	}
	return p.String()
}

// subKey derives a purpose's HMAC key from the master key; nil without one.
func (s *Service) subKey(purpose string) []byte {
	if len(s.MasterKey) == 0 {
		return nil
	}
	m := hmac.New(sha256.New, s.MasterKey)
	m.Write([]byte("gatehouse-" + purpose))
	return m.Sum(nil)
}

func (s *Service) deviceMAC(tenant store.TenantID, userID, id string) string {
	m := hmac.New(sha256.New, s.subKey("device-cookie"))
	m.Write([]byte(string(tenant) + "\x00" + userID + "\x00" + id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// knownDevice answers the id of the device named by ctx's device cookie
// when it is a live device of userID in tenant, else "".
func (s *Service) knownDevice(ctx context.Context, tenant store.TenantID, userID string, now time.Time) string {
	value, _ := ctx.Value(deviceKey{}).(string)
	id, mac, ok := strings.Cut(strings.TrimPrefix(value, devicePrefix), ".")
	if !ok || userID == "" || len(s.MasterKey) == 0 || !strings.HasPrefix(value, devicePrefix) {
		return ""
	}
	if !hmac.Equal([]byte(mac), []byte(s.deviceMAC(tenant, userID, id))) {
		return ""
	}
	d, err := s.Store.OAuth().Recognition().GetDevice(ctx, tenant, id, now)
	if err != nil || d.UserID != userID {
		return ""
	}
	return id
}

// RecognizeSource records a sign-in of userID from ip and the browser of
// ctx's device cookie: the network becomes known, and the device too. It
// answers the device cookie value to set: the same device when the cookie
// already names one of this user's, else a new one. "" without a master
// key.
func (s *Service) RecognizeSource(ctx context.Context, tenant store.TenantID, userID, ip string) (string, error) {
	now := s.Now()
	rec := s.Store.OAuth().Recognition()
	if n := SourceNetwork(ip); n != "" {
		if err := rec.TouchNetwork(ctx, tenant, userID, n, now); err != nil {
			return "", err
		}
	}
	if len(s.MasterKey) == 0 {
		return "", s.riskCompleted(ctx, tenant, userID, ip, "")
	}
	id := s.knownDevice(ctx, tenant, userID, now)
	if id == "" {
		if err := s.noticeNewDevice(ctx, tenant, userID, now); err != nil {
			return "", err
		}
		id = uuid.Must(uuid.NewV7()).String()
	}
	err := rec.PutDevice(ctx, &store.KnownDevice{Tenant: tenant, ID: id, UserID: userID, LastSeenAt: now, ExpiresAt: now.Add(DeviceLifetime)})
	if errors.Is(err, store.ErrConflict) { // an id of another user's: never ours to reuse
		return "", s.riskCompleted(ctx, tenant, userID, ip, "")
	}
	if err != nil {
		return "", err
	}
	if err := s.riskCompleted(ctx, tenant, userID, ip, id); err != nil {
		return "", err
	}
	return devicePrefix + id + "." + s.deviceMAC(tenant, userID, id), nil
}

// noticeNewDevice tells the user of a sign-in from a device it does not
// know, unless the user has no known device yet (the first sign-in, or
// after the devices were forgotten: nothing to compare with).
func (s *Service) noticeNewDevice(ctx context.Context, tenant store.TenantID, userID string, now time.Time) error {
	if s.Notices == nil {
		return nil
	}
	known, err := s.Store.OAuth().Recognition().ListDevices(ctx, tenant, userID, now)
	if err != nil || len(known) == 0 {
		return err
	}
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		return s.Notices.Notify(ctx, tx, tenant, userID, notice.NewDevice)
	})
}

// ForgetSources forgets every device and network the user signed in from:
// after it, only the per-network count lets them through.
func (s *Service) ForgetSources(ctx context.Context, tenant store.TenantID, userID string) error {
	return s.Store.OAuth().Recognition().Forget(ctx, tenant, userID)
}
