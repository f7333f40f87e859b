package api

import (
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
)

var errNoRiskEngine = httpx.NewProblem(http.StatusNotFound, "not_found", "Not found",
	"This server runs no risk engine.")

// getRiskModel answers the document of the model that scores the
// tenant's attempts: its newest learned version with every input's
// weight, or the rules.
func (a *API) getRiskModel(w http.ResponseWriter, r *http.Request, c *call) error {
	if a.Risk == nil {
		return errNoRiskEngine
	}
	doc, err := a.Risk.ModelDoc(r.Context(), c.tenant.ID)
	if err != nil {
		return err
	}
	httpx.WriteJSON(w, http.StatusOK, doc)
	return nil
}
