package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/gatehouse-id/gatehouse/internal/configcode"
	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// configRequest is the body of POST /api/v1/config/plan and /apply: the
// files (their names make the problems' locations), the values of the
// ${env:NAME} references they make (the caller's environment, not the
// server's: a platform key must not read the server's variables into an
// upstream's secret), --prune, and the source (a git commit) for the audit.
// ${file:...} references are refused here.
type configRequest struct {
	Files []struct {
		Name    string `json:"name"`
		Content string `json:"content"`
	} `json:"files"`
	Secrets map[string]string `json:"secrets"`
	Prune   bool              `json:"prune"`
	Source  string            `json:"source"`
}

// configResponse is a plan, or what was applied.
type configResponse struct {
	Changes int              `json:"changes"`
	Plan    *configcode.Plan `json:"plan"`
}

// maxConfigFiles bounds a request's files (each bounded by the body size).
const maxConfigFiles = 100

func (a *API) configSchema(w http.ResponseWriter, r *http.Request, c *call) error {
	b, err := configcode.Schema()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/schema+json")
	_, err = w.Write(b)
	return err
}

func (a *API) configPlan(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.configRun(w, r, c, configcode.MakePlan)
}

func (a *API) configApply(w http.ResponseWriter, r *http.Request, c *call) error {
	return a.configRun(w, r, c, configcode.Apply)
}

func (a *API) configRun(w http.ResponseWriter, r *http.Request, c *call,
	run func(context.Context, *configcode.Services, *configcode.Config, configcode.Options) (*configcode.Plan, error)) error {
	var in configRequest
	if err := httpx.DecodeJSON(w, r, configcode.MaxFileBytes, &in); err != nil {
		return err
	}
	if len(in.Files) == 0 || len(in.Files) > maxConfigFiles {
		return valid.Field("files", "invalid", "Send 1 to 100 files.")
	}
	if len(in.Source) > 100 {
		return valid.Field("source", "too_long", "A source has at most 100 characters.")
	}
	srcs := make([]configcode.Source, len(in.Files))
	for i, f := range in.Files {
		name := f.Name
		if name == "" || len(name) > 200 {
			name = "files[" + strconv.Itoa(i) + "]"
		}
		srcs[i] = configcode.Source{Name: name, Data: []byte(f.Content)}
	}
	cfg, err := configcode.Load(srcs)
	if err == nil {
		lookup := func(name string) (string, bool) { v, ok := in.Secrets[name]; return v, ok }
		var actor = c.actor
		if c.key != nil {
			actor = configcode.ApplyActor(in.Source, c.key.ID)
		}
		var plan *configcode.Plan
		plan, err = run(r.Context(), a.ConfigCode, cfg, configcode.Options{Prune: in.Prune,
			Resolver: configcode.Resolver{LookupEnv: lookup}, Actor: actor})
		if err == nil {
			cr, u, d := plan.Count()
			httpx.WriteJSON(w, http.StatusOK, configResponse{Changes: cr + u + d, Plan: plan})
			return nil
		}
	}
	var ce *configcode.Error
	if errors.As(err, &ce) {
		ve := &valid.Error{}
		for _, p := range ce.Problems {
			ve.Fields = append(ve.Fields, valid.FieldError{Field: p.Key, Code: "invalid", Message: p.String()})
		}
		return ve
	}
	return err
}
