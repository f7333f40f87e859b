package console

import (
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"net/http"
	"strings"
	"sync"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

//go:embed templates
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

func assetHandler() http.Handler {
	sub, _ := fs.Sub(assetFS, "assets")
	fsrv := http.FileServerFS(sub)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		fsrv.ServeHTTP(w, r)
	})
}

// Template is a content template compiled with the console layout once per
// language, on its first render in that language: parsed at start-up, the
// console's templates in every language held 3.6 MiB of parse trees that a
// server whose console nobody opens never uses.
type Template struct {
	name   string
	byLang map[string]func() *template.Template
}

// funcs are the template functions besides t.
var funcs = template.FuncMap{
	"field": func(errs map[string]string, name string) string { return errs[name] },
	"join":  strings.Join,
	"list":  func(s ...string) []string { return s },
}

// templates are all the Templates parse made (package variables), so a
// test can compile each in every language.
var templates []*Template

// parse declares templates/layout.html with the named files of templates/
// (each defines "content"). Each language's compilation panics on a
// template error; TestEveryTemplateCompiles runs them all.
func parse(files ...string) *Template {
	tp := &Template{name: strings.Join(files, ","), byLang: map[string]func() *template.Template{}}
	paths := []string{"templates/layout.html"}
	for _, f := range files {
		paths = append(paths, "templates/"+f)
	}
	for _, lang := range i18n.Languages() {
		tp.byLang[lang] = sync.OnceValue(func() *template.Template {
			tmpl := template.New("layout").Funcs(funcs).Funcs(template.FuncMap{"t": i18n.Default().Translator(lang)})
			return template.Must(tmpl.ParseFS(templateFS, paths...))
		})
	}
	templates = append(templates, tp)
	return tp
}

// NavItem is one entry of the navigation.
type NavItem struct {
	Key, Href string
	Current   bool
}

// View is what the layout and every content template see.
type View struct {
	Lang, TitleKey string
	Base, CSRF     string
	User           *store.User
	Tenant         *store.Tenant
	// Tenants fill the switcher (platform administrators only).
	Tenants []store.Tenant
	Nav     []NavItem
	Flash   string
	// Errors are inline field errors (FieldErrors); Error a message for
	// the whole form.
	Errors map[string]string
	Error  string
	Data   any
}

// Render writes tmpl with data in the layout, titled by the catalog key
// titleKey, with status.
func (rq *Request) Render(w http.ResponseWriter, status int, tmpl *Template, titleKey string, data any) error {
	return rq.RenderForm(w, status, tmpl, titleKey, data, nil)
}

// RenderForm is Render with the inline errors of a refused form (err from
// a service; nil for none): validation errors go beside their fields,
// anything else fails the request as Handle's error would.
func (rq *Request) RenderForm(w http.ResponseWriter, status int, tmpl *Template, titleKey string, data any, err error) error {
	v := rq.view(titleKey, data)
	if err != nil {
		errs, ok := FieldErrors(err)
		if !ok {
			return err
		}
		v.Errors = errs
		v.Error = rq.T("console.error.form")
	}
	rq.c.render(w, status, tmpl, rq.Lang, v)
	return nil
}

// T translates key into the page's language.
func (rq *Request) T(key string, args ...any) string {
	return i18n.Default().Text(rq.Lang, key, args...)
}

func (rq *Request) view(titleKey string, data any) View {
	v := View{Lang: rq.Lang, TitleKey: titleKey, Base: rq.Base, CSRF: rq.CSRF, User: rq.User,
		Tenant: rq.Tenant, Flash: rq.Flash, Data: data}
	if rq.User == nil {
		return v
	}
	for _, p := range rq.c.pages {
		if p.Nav != "" && p.Method == http.MethodGet && rq.Can(p.Perm) {
			href := rq.Base + p.Path
			v.Nav = append(v.Nav, NavItem{Key: p.Nav, Href: href,
				Current: rq.r.URL.Path == href || strings.HasPrefix(rq.r.URL.Path, href+"/")})
		}
	}
	if rq.Platform {
		ts, err := rq.c.Tenants.ListTenants(rq.Context(), store.Page{Limit: 100})
		if err == nil {
			v.Tenants = ts
		}
	}
	return v
}

func (c *Console) render(w http.ResponseWriter, status int, tmpl *Template, lang string, v View) {
	compiled, ok := tmpl.byLang[lang]
	if !ok {
		compiled, v.Lang = tmpl.byLang[i18n.Fallback], i18n.Fallback
	}
	t := compiled()
	setHeaders(w)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Language", v.Lang)
	w.WriteHeader(status)
	if err := t.ExecuteTemplate(w, "layout", v); err != nil {
		c.Log.Error("console: render", "template", tmpl.name, "err", err)
	}
}

var errorTmpl = parse("error.html")

// errorPage renders the friendly page of an error: the message key says
// what happened, in the page's language, with the navigation when signed in.
func (c *Console) errorPage(w http.ResponseWriter, rq *Request, status int, msgKey string) {
	c.render(w, status, errorTmpl, rq.Lang, rq.view("console.error.title", msgKey))
}

// fail maps a handler's error to its page once, here.
func (c *Console) fail(w http.ResponseWriter, rq *Request, err error) {
	switch {
	case errors.Is(err, ErrForbidden):
		c.errorPage(w, rq, http.StatusForbidden, "console.error.forbidden")
	case errors.Is(err, store.ErrNotFound):
		c.errorPage(w, rq, http.StatusNotFound, "console.error.not_found")
	case errors.Is(err, store.ErrBusy):
		c.errorPage(w, rq, http.StatusServiceUnavailable, "console.error.busy")
	default:
		if errs, ok := FieldErrors(err); ok {
			// A refused input the handler did not show inline.
			v := rq.view("console.error.title", "console.error.form")
			v.Errors = errs
			c.render(w, http.StatusBadRequest, errorTmpl, rq.Lang, v)
			return
		}
		c.Log.ErrorContext(rq.Context(), "console: internal error", "err", err, "route", rq.r.Pattern)
		c.errorPage(w, rq, http.StatusInternalServerError, "console.error.internal")
	}
}

// notFound answers console paths no page serves.
func (c *Console) notFound(w http.ResponseWriter, r *http.Request) {
	rq := &Request{c: c, r: r, Base: "/admin", Lang: i18n.Choose(nil, r.Header.Get("Accept-Language"), "")}
	c.errorPage(w, rq, http.StatusNotFound, "console.error.not_found")
}

// FieldErrors maps a service's validation error to messages by field name
// (the API's field names); false when err is not a validation error.
func FieldErrors(err error) (map[string]string, bool) {
	var (
		verr     *valid.Error
		conflict *valid.Conflict
	)
	switch {
	case errors.As(err, &verr):
		out := map[string]string{}
		for _, f := range verr.Fields {
			if _, ok := out[f.Field]; !ok {
				out[f.Field] = f.Message
			}
		}
		return out, true
	case errors.As(err, &conflict):
		return map[string]string{conflict.Field: conflict.Error() + "."}, true
	case errors.Is(err, store.ErrConflict):
		return map[string]string{"": "This already exists."}, true
	}
	return nil, false
}
