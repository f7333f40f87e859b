package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/authz"
	"github.com/gatehouse-id/gatehouse/internal/directory"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/privacy"
	"github.com/gatehouse-id/gatehouse/internal/selfservice"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// The actions of a person's page. Each checks the permission of its API
// route (helpdesk actions: PermSupport, the part of the API's admin scope
// a help desk holds), acts through the service the API uses with the
// console user as the audited actor, and returns to the page with a flash.

func init() {
	register(func(c *Console) []Page {
		u := "/users/{id}"
		return []Page{
			{Method: "POST", Path: u + "/status", Perm: authz.PermAdmin, Handle: c.userStatus},
			{Method: "POST", Path: u + "/verify-email", Perm: authz.PermAdmin, Handle: c.userVerifyEmail},
			{Method: "POST", Path: u + "/reset-password", Perm: authz.PermSupport, Handle: c.userResetMail},
			{Method: "POST", Path: u + "/invite", Perm: authz.PermSupport, Handle: c.userInvite},
			{Method: "POST", Path: u + "/resend-verification", Perm: authz.PermSupport, Handle: c.userResendVerification},
			{Method: "POST", Path: u + "/mfa-reset", Perm: authz.PermSupport, Handle: c.userMFAReset},
			{Method: "POST", Path: u + "/sessions/end", Perm: authz.PermSupport, Handle: c.userEndSessions},
			{Method: "POST", Path: u + "/roles", Perm: authz.PermAdmin, Handle: c.userAssignRole},
			{Method: "POST", Path: u + "/roles/{role}/remove", Perm: authz.PermAdmin, Handle: c.userUnassignRole},
			{Method: "POST", Path: u + "/groups", Perm: authz.PermAdmin, Handle: c.userAddGroup},
			{Method: "POST", Path: u + "/groups/{group}/remove", Perm: authz.PermAdmin, Handle: c.userRemoveGroup},
			{Method: "GET", Path: u + "/export", Perm: authz.PermAdmin, Handle: c.userExport},
			{Method: "POST", Path: u + "/erase", Perm: authz.PermAdmin, Handle: c.userErase},
		}
	})
}

// versionOf reads a form's version field (0, no check, when absent).
func versionOf(s string) int64 {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0
	}
	return v
}

// refusal turns a service's refusal of an action into a flash-free 400
// page naming the problem; other errors go to fail.
func (c *Console) actionError(w http.ResponseWriter, rq *Request, err error) error {
	var refused *authz.Refused
	if errors.As(err, &refused) {
		v := rq.view("console.error.title", "console.error.refused")
		v.Error = refused.Message
		c.render(w, http.StatusConflict, errorTmpl, rq.Lang, v)
		return nil
	}
	if errs, ok := FieldErrors(err); ok {
		v := rq.view("console.error.title", "console.error.form")
		v.Errors = errs
		c.render(w, http.StatusBadRequest, errorTmpl, rq.Lang, v)
		return nil
	}
	return err
}

// userStatus: POST /users/{id}/status with status=active|disabled.
func (c *Console) userStatus(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	st := r.PostForm.Get("status")
	if st != string(store.UserActive) && st != string(store.UserDisabled) {
		return c.actionError(w, rq, valid.Field("status", "invalid", "status is active or disabled."))
	}
	if u.ID == rq.User.ID && st == string(store.UserDisabled) {
		return c.actionError(w, rq, valid.Field("status", "self", "You cannot disable your own account here."))
	}
	if _, err := c.Directory.UpdateUser(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID, 0, directory.UserPatch{Status: &st}); err != nil {
		return c.actionError(w, rq, err)
	}
	if st == string(store.UserDisabled) {
		// A disabled account keeps no session (as the API's callers do).
		if err := c.Sessions.EndAll(rq.Context(), rq.Tenant.ID, u.ID); err != nil {
			return err
		}
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user."+st)
}

// userVerifyEmail: POST /users/{id}/verify-email marks the address verified.
func (c *Console) userVerifyEmail(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	yes := true
	if _, err := c.Directory.UpdateUser(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID, 0, directory.UserPatch{EmailVerified: &yes}); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.verified")
}

// userResetMail: POST /users/{id}/reset-password mails a password reset
// link, as the "forgot password" page would.
func (c *Console) userResetMail(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	if err := c.SelfService.ForgotPassword(rq.Context(), rq.Tenant, u.Email, httpx.ClientIP(r), u.Locale); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.reset_sent")
}

// userResendVerification: POST /users/{id}/resend-verification mails a
// new verification link and code to a user whose address is unverified.
func (c *Console) userResendVerification(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	if u.EmailVerified {
		return c.actionError(w, rq, valid.Field("email", "verified", "This address is verified already."))
	}
	if err := c.SelfService.ResendVerification(rq.Context(), rq.Tenant, u.Email, u.Locale); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.verification_sent")
}

// userInvite: POST /users/{id}/invite mails (again) the invitation of a
// user without a password.
func (c *Console) userInvite(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	if _, err := c.SelfService.Invite(rq.Context(), rq.Actor, rq.Tenant, selfservice.NewInvitation{Email: u.Email, Locale: u.Locale}); err != nil {
		var conflict *valid.Conflict
		if errors.As(err, &conflict) {
			return c.actionError(w, rq, valid.Field("email", "has_password", "This user has a password already: send a password reset instead."))
		}
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.invited")
}

// userMFAReset: POST /users/{id}/mfa-reset removes every second factor and
// ends every session (the API's DELETE .../factors).
func (c *Console) userMFAReset(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	if _, err := c.MFA.Reset(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID); err != nil {
		return err
	}
	if err := c.Sessions.EndAll(rq.Context(), rq.Tenant.ID, u.ID); err != nil {
		return err
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.mfa_reset")
}

// userEndSessions: POST /users/{id}/sessions/end.
func (c *Console) userEndSessions(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	if err := c.Sessions.EndAllBy(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID); err != nil {
		return err
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.sessions_ended")
}

// userAssignRole: POST /users/{id}/roles with role (id or name).
func (c *Console) userAssignRole(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	role := strings.TrimSpace(r.PostForm.Get("role"))
	if role == authz.RolePlatformAdmin && !rq.Platform {
		// Only a platform administrator makes another.
		return ErrForbidden
	}
	if _, _, err := c.Authz.AssignUser(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID, role); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.role_assigned")
}

// userUnassignRole: POST /users/{id}/roles/{role}/remove.
func (c *Console) userUnassignRole(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	role := r.PathValue("role")
	if !idRE.MatchString(role) {
		return store.ErrNotFound
	}
	if err := c.Authz.Unassign(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID, "", role); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.role_removed")
}

// userAddGroup: POST /users/{id}/groups with group (an id).
func (c *Console) userAddGroup(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	g := r.PostForm.Get("group")
	if !idRE.MatchString(g) {
		return c.actionError(w, rq, valid.Field("group", "invalid", "Choose a group from the list."))
	}
	if err := c.Directory.AddMember(rq.Context(), rq.Actor, rq.Tenant.ID, g, store.Member{Type: store.MemberUser, ID: u.ID}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return c.actionError(w, rq, valid.Field("group", "not_found", "Choose a group from the list."))
		}
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.group_added")
}

// userRemoveGroup: POST /users/{id}/groups/{group}/remove.
func (c *Console) userRemoveGroup(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	g := r.PathValue("group")
	if !idRE.MatchString(g) {
		return store.ErrNotFound
	}
	if err := c.Directory.RemoveMember(rq.Context(), rq.Actor, rq.Tenant.ID, g, store.Member{Type: store.MemberUser, ID: u.ID}); err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users/"+u.ID, "console.user.group_removed")
}

// userExport: GET /users/{id}/export downloads the person's data (the
// API's GET .../export; the export is audited by the privacy service).
func (c *Console) userExport(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	out, err := c.Privacy.Export(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="user-`+u.ID+`.json"`)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// userErase: POST /users/{id}/erase erases the person (internal/privacy)
// once the form repeats their email address.
func (c *Console) userErase(w http.ResponseWriter, r *http.Request, rq *Request) error {
	u, err := c.pathUser(r, rq)
	if err != nil {
		return err
	}
	if !strings.EqualFold(strings.TrimSpace(r.PostForm.Get("confirm")), u.Email) {
		return c.actionError(w, rq, valid.Field("confirm", "mismatch", "Type the user's email address to confirm the erasure."))
	}
	if u.ID == rq.User.ID {
		return c.actionError(w, rq, valid.Field("confirm", "self", "You cannot erase your own account here."))
	}
	if _, err := c.Privacy.Erase(rq.Context(), rq.Actor, rq.Tenant.ID, u.ID); errors.Is(err, privacy.ErrHold) {
		return c.actionError(w, rq, valid.Field("confirm", "legal_hold", "This user is under a legal hold and cannot be erased."))
	} else if err != nil {
		return c.actionError(w, rq, err)
	}
	return rq.Redirect(w, "/users", "console.user.erased")
}
