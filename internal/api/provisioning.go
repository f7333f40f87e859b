package api

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/provision"
)

// createProvisioningTarget: POST .../provisioning-targets
// {"name","base_url","bearer_token","attribute_mapping","groups","enabled"}
// answers the target (never its token).
func (a *API) createProvisioningTarget(w http.ResponseWriter, r *http.Request, c *call) error {
	var in provision.Input
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	v, err := a.Provisioning.Create(r.Context(), c.actor, c.tenant.ID, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusCreated, v)
	return nil
}

func (a *API) listProvisioningTargets(w http.ResponseWriter, r *http.Request, c *call) error {
	l, err := a.Provisioning.List(r.Context(), c.tenant.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list[provision.View]{Items: l})
	return nil
}

func (a *API) getProvisioningTarget(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	v, err := a.Provisioning.Get(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

// updateProvisioningTarget: PATCH .../provisioning-targets/{id} changes
// the fields given.
func (a *API) updateProvisioningTarget(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var in provision.Input
	if err := a.decode(w, r, &in); err != nil {
		return err
	}
	v, err := a.Provisioning.Update(r.Context(), c.actor, c.tenant.ID, id, in)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, v)
	return nil
}

func (a *API) deleteProvisioningTarget(w http.ResponseWriter, r *http.Request, c *call) error {
	return deleteByID(w, r, c, a.Provisioning.Delete)
}

// syncProvisioningTarget: POST .../provisioning-targets/{id}/sync starts a
// full sync: 202, its progress is the target's "sync".
func (a *API) syncProvisioningTarget(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	err = a.Provisioning.Sync(r.Context(), c.actor, c.tenant.ID, id, a.Log)
	if errors.Is(err, provision.ErrSyncRunning) {
		return httpx.NewProblem(http.StatusConflict, "sync-running", "Sync running",
			"A full sync of this target is running; its state is the target's sync.state.")
	}
	if err != nil {
		return err
	}
	v, err := a.Provisioning.Get(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusAccepted, v)
	return nil
}

// listProvisioningErrors: GET .../provisioning-targets/{id}/errors answers
// the target's recent failed pushes, newest first.
func (a *API) listProvisioningErrors(w http.ResponseWriter, r *http.Request, c *call) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	l, err := a.Provisioning.Errors(r.Context(), c.tenant.ID, id)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, list[provision.ErrorView]{Items: l})
	return nil
}
