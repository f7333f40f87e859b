package console

import (
	"errors"
	"net/http"

	"github.com/gatehouse-id/gatehouse/internal/httpx"
	"github.com/gatehouse-id/gatehouse/internal/setup"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/ui"
)

// The public pages: the welcome page at /, the first-run setup page and
// the signed-out page. They wear the admin tenant's branding and the
// hosted pages' layout (internal/ui), like the login they lead to.

var (
	welcomePage   = ui.Parse(templateFS, "templates/public_welcome.html")
	setupPage     = ui.Parse(templateFS, "templates/public_setup.html")
	publicMessage = ui.Parse(templateFS, "templates/public_message.html")
)

// DefaultDocsURL is the welcome page's documentation link when none is set.
const DefaultDocsURL = "https://github.com/gatehouse-id/gatehouse/tree/main/docs"

type publicView struct {
	ui.Frame
	Console, Account, Docs string
	// Setup form.
	Action, CSRF, Token, Email string
	Errors                     map[string]string
	Error                      string
	// Message page.
	Message string
	Links   []publicLink
}

type publicLink struct{ Href, Key string }

// frame resolves the admin tenant's look for a public page.
func (c *Console) frame(w http.ResponseWriter, r *http.Request, titleKey string) (ui.Frame, *store.Tenant, bool) {
	t, err := c.Tenants.Resolve(r.Context(), c.adminSlug())
	if err != nil {
		c.Log.ErrorContext(r.Context(), "console: admin tenant", "err", err)
		http.Error(w, "The admin tenant is missing.", http.StatusServiceUnavailable)
		return ui.Frame{}, nil, false
	}
	f := ui.FrameFor(r, t, nil, titleKey)
	ui.SetHeaders(w, f.Brand)
	w.Header().Set("X-Frame-Options", "DENY")
	return f, t, true
}

// welcome: GET / greets whoever opens the server.
func (c *Console) welcome(w http.ResponseWriter, r *http.Request) {
	f, t, ok := c.frame(w, r, "console.welcome.title")
	if !ok {
		return
	}
	docs := c.DocsURL
	if docs == "" {
		docs = DefaultDocsURL
	}
	welcomePage.Render(w, c.Log, http.StatusOK, f.Lang, publicView{Frame: f, Console: "/admin/",
		Account: "/t/" + t.Slug + "/account", Docs: docs})
}

// signedOut: GET {console}/signed-out says the console session ended.
func (c *Console) signedOut(w http.ResponseWriter, r *http.Request) {
	f, _, ok := c.frame(w, r, "console.signed_out.title")
	if !ok {
		return
	}
	base := "/admin"
	if slug := r.PathValue("tenant"); slug != "" {
		if t, ok := httpx.Tenant(r); ok {
			base = "/t/" + t.Slug + "/admin"
		}
	}
	publicMessage.Render(w, c.Log, http.StatusOK, f.Lang, publicView{Frame: f, Message: f.T("console.signed_out.body"),
		Links: []publicLink{{base + "/login", "console.sign_in"}}})
}

func (c *Console) csrf() httpx.CSRF { return httpx.CSRF{PublicURL: c.PublicURL} }

// setupForm: GET /setup?token=... asks for the first administrator's
// email and password while the link is live.
func (c *Console) setupForm(w http.ResponseWriter, r *http.Request) {
	f, _, ok := c.frame(w, r, "console.setup.title")
	if !ok {
		return
	}
	tok := r.URL.Query().Get("token")
	if err := c.Setup.CheckSetupToken(r.Context(), tok); err != nil {
		c.setupError(w, r, f, err)
		return
	}
	setupPage.Render(w, c.Log, http.StatusOK, f.Lang, publicView{Frame: f, Action: "/setup",
		CSRF: c.csrf().Token(w, r), Token: tok})
}

// setupSubmit: POST /setup creates the first platform administrator.
func (c *Console) setupSubmit(w http.ResponseWriter, r *http.Request) {
	f, t, ok := c.frame(w, r, "console.setup.title")
	if !ok {
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil || !c.csrf().Check(r) {
		publicMessage.Render(w, c.Log, http.StatusForbidden, f.Lang, publicView{Frame: f, Message: f.T("console.error.csrf")})
		return
	}
	tok, email := r.PostForm.Get("token"), r.PostForm.Get("email")
	_, err := c.Setup.CompleteSetup(r.Context(), tok, setup.FirstAdmin{Email: email,
		Password: r.PostForm.Get("password"), ClientIP: httpx.ClientIP(r)})
	if errs, bad := FieldErrors(err); bad {
		setupPage.Render(w, c.Log, http.StatusBadRequest, f.Lang, publicView{Frame: f, Action: "/setup",
			CSRF: c.csrf().Token(w, r), Token: tok, Email: email, Errors: errs, Error: f.T("console.error.form")})
		return
	}
	if err != nil {
		c.setupError(w, r, f, err)
		return
	}
	publicMessage.Render(w, c.Log, http.StatusOK, f.Lang, publicView{Frame: f, Message: f.T("console.setup.done"),
		Links: []publicLink{{"/admin/login", "console.sign_in"}, {"/t/" + t.Slug + "/account/mfa", "console.setup.add_passkey"}}})
}

func (c *Console) setupError(w http.ResponseWriter, r *http.Request, f ui.Frame, err error) {
	if errors.Is(err, setup.ErrInvalidToken) {
		publicMessage.Render(w, c.Log, http.StatusBadRequest, f.Lang, publicView{Frame: f, Message: f.T("console.setup.invalid")})
		return
	}
	c.Log.ErrorContext(r.Context(), "console: setup", "err", err, "request_id", httpx.RequestID(r.Context()))
	publicMessage.Render(w, c.Log, http.StatusInternalServerError, f.Lang, publicView{Frame: f, Message: f.T("console.error.internal")})
}
