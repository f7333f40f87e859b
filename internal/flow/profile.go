package flow

import (
	"context"
	"encoding/json"
	"errors"
	"slices"

	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/profileschema"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/tenancy"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The profile step (progressive profiling) runs first after the session:
// when the tenant's profile schema has fields due at this login
// (profileschema.Due: at sign-up, from the Nth sign-in on, for this client
// or a requested scope) that the user's attributes lack, the request
// holds the session and waits (ErrProfileRequired); the profile page shows
// only those fields and calls SubmitProfile, which stores the answers
// (through the directory, so the schema checks them and the change is
// audited), counts the skips and completes the request.
//
// Sign-ins are counted in finish, once per login where the user
// authenticated (not for a reused SSO session, not for a step-up).

// ErrProfileRequired: the profile step waits for the user.
var ErrProfileRequired = errors.New("flow: profile fields are due")

type profile struct{ s *Service }

func (profile) Name() string { return "profile" }

// Needed: some field is due. The device page approves a device for a
// session that exists already, so it is not asked there.
func (p profile) Needed(ctx context.Context, st *State) (bool, error) {
	if st.Request == nil || st.Request.Origin == OriginDevice || st.Request.Origin == OriginCIBA {
		return false, nil
	}
	due, err := p.s.profileDue(ctx, st.Tenant, st.Request, st.User)
	return len(due) > 0, err
}

func (profile) Handle(context.Context, *State) error { return ErrProfileRequired }

// countSignIn counts a login where the user authenticated.
func (s *Service) countSignIn(ctx context.Context, st *State) error {
	if st.OldSession != "" {
		return nil // a step-up raises a session; it is not a new sign-in
	}
	_, err := s.Store.Profiles().CountSignIn(ctx, st.Tenant, st.User.ID)
	return err
}

// profileDue answers the fields the login of r asks u for now.
func (s *Service) profileDue(ctx context.Context, tenant store.TenantID, r *store.LoginRequest, u *store.User) ([]profileschema.Prompt, error) {
	t, err := s.Store.Tenants().GetTenant(ctx, tenant)
	if err != nil {
		return nil, err
	}
	sc, err := tenancy.ProfileSchemaOf(t)
	if err != nil || len(sc.Fields) == 0 {
		return nil, err
	}
	prog, err := s.Store.Profiles().GetProfileProgress(ctx, tenant, u.ID)
	if err != nil {
		return nil, err
	}
	var attrs map[string]any
	_ = json.Unmarshal(u.Attributes, &attrs) // not an object: nothing is present
	skips := make(map[string]profileschema.Skip, len(prog.Skips))
	for k, v := range prog.Skips {
		skips[k] = profileschema.Skip{N: v.N, At: v.At}
	}
	return sc.Due(profileschema.Situation{SignIns: prog.SignIns, ClientID: r.ClientID, Scopes: r.Scopes,
		Skips: skips, Attrs: attrs}), nil
}

// ProfilePrompts answers the fields the request r, waiting at the profile
// step for sess's user (LoadForConsent), asks for.
func (s *Service) ProfilePrompts(ctx context.Context, tenant store.TenantID, r *store.LoginRequest, sess *store.Session) ([]profileschema.Prompt, error) {
	u, err := s.Store.Users().GetUser(ctx, tenant, sess.UserID)
	if err != nil || u.Status != store.UserActive {
		return nil, ErrInvalidCredentials
	}
	return s.profileDue(ctx, tenant, r, u)
}

// ProfileAnswer is what the profile page sent: a value per field (nil for
// none) and the fields the user chose to skip.
type ProfileAnswer struct {
	Values map[string]any
	Skip   []string
	IP     string
}

// SubmitProfile stores the answers to the fields due for r and completes
// it. Only due fields are taken; a due field needs a value unless the user
// may still skip it and did. Errors: *valid.Error naming the field
// (attributes.company) with nothing stored; the errors of Complete.
func (s *Service) SubmitProfile(ctx context.Context, tenant store.TenantID, r *store.LoginRequest, sess *store.Session, a ProfileAnswer) error {
	due, err := s.ProfilePrompts(ctx, tenant, r, sess)
	if err != nil {
		return err
	}
	var c valid.Collector
	patch := map[string]any{}
	var skipped []string
	for _, p := range due {
		name := p.Field.Name
		v := a.Values[name]
		switch {
		case v != nil:
			patch[name] = v
		case !p.Mandatory && slices.Contains(a.Skip, name):
			skipped = append(skipped, name)
		default:
			c.Add("attributes."+name, "required", "Please fill in this field.")
		}
	}
	if err := c.Err(); err != nil {
		return err
	}
	if len(patch) > 0 {
		raw, err := json.Marshal(patch)
		if err != nil {
			return err
		}
		actor := events.Actor{Type: "user", ID: sess.UserID, ClientIP: a.IP}
		if _, err := s.Directory.UpdateUser(ctx, actor, tenant, sess.UserID, 0, directory.UserPatch{Attributes: raw}); err != nil {
			return err
		}
	}
	if len(skipped) > 0 {
		if err := s.Store.Profiles().SkipProfileFields(ctx, tenant, sess.UserID, skipped); err != nil {
			return err
		}
	}
	return s.Complete(ctx, tenant, r.ID, sess)
}
