package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// The account page's "where you signed in" section: the recent completed
// sign-ins the risk engine keeps (time, device, approximate place) and the
// known devices, each of which the user can forget.

// whereView is the section's data.
type whereView struct {
	SignIns []signInRow
	Devices []deviceRow
}

type signInRow struct{ When, Device, Place string }

type deviceRow struct{ ID, Name, First, Last string }

// recentSignIns is how many sign-ins the section lists.
const recentSignIns = 10

// accountWhere fills the section for the user of a.
func (p *Pages) accountWhere(a *accountReq) (*whereView, error) {
	ctx := a.r.Context()
	signIns, err := p.Flow.RecentSignIns(ctx, a.t.ID, a.sess.UserID, store.MaxSignInsPerUser)
	if err != nil {
		return nil, err
	}
	devices, err := p.Flow.KnownDevices(ctx, a.t.ID, a.sess.UserID)
	if err != nil {
		return nil, err
	}
	v := &whereView{}
	agent := map[string]string{} // device id -> its newest user agent
	for i, s := range signIns {
		if s.DeviceID != "" && agent[s.DeviceID] == "" {
			agent[s.DeviceID] = s.UserAgent
		}
		if i >= recentSignIns {
			continue
		}
		place := s.City
		if s.Country != "" {
			place = strings.TrimPrefix(place+", "+s.Country, ", ")
		}
		v.SignIns = append(v.SignIns, signInRow{When: s.At.UTC().Format("2006-01-02 15:04 UTC"), Device: deviceName(s.UserAgent), Place: place})
	}
	for _, d := range devices {
		name := a.f.T("risk.device_unknown")
		if ua := agent[d.ID]; ua != "" {
			name = deviceName(ua)
		}
		v.Devices = append(v.Devices, deviceRow{ID: d.ID, Name: name,
			First: d.CreatedAt.UTC().Format("2006-01-02"), Last: d.LastSeenAt.UTC().Format("2006-01-02 15:04 UTC")})
	}
	return v, nil
}

// accountForgetDevice: POST .../account/devices/forget (device_id).
func (p *Pages) accountForgetDevice(a *accountReq) {
	err := p.Flow.ForgetDevice(a.r.Context(), a.t.ID, a.sess.UserID, a.r.PostForm.Get("device_id"))
	if errors.Is(err, store.ErrNotFound) {
		p.showAccount(a, http.StatusNotFound, "", a.f.T("account.err_not_found"))
		return
	}
	p.accountResult(a, err, "device")
}
