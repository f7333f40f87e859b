package mail

import (
	"bytes"
	"embed"
	"errors"
	htmltemplate "html/template"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"text/template"

	"github.com/gatehouse-id/gatehouse/internal/i18n"
)

// Mail kinds; each has the catalog keys mail.{kind}.subject, .intro,
// .action and .ignore (and .code when it carries a code).
const (
	KindVerify = "verify"
	KindReset  = "reset"
	KindMagic  = "magic"
	KindInvite = "invite"
	// KindExists tells the owner of an address that someone tried to
	// sign up with it (sign-up answers the same whether or not it exists).
	KindExists = "exists"
	// KindEmailChange carries the account page's link that confirms a new
	// address.
	KindEmailChange = "email_change"
	// KindEmailInUse tells the owner of an address that someone asked on
	// the account page to move another account to it (no link to confirm).
	KindEmailInUse = "email_in_use"
)

var kinds = map[string]bool{KindVerify: true, KindReset: true, KindMagic: true, KindInvite: true, KindExists: true,
	KindEmailChange: true, KindEmailInUse: true}

//go:embed templates/mail.txt templates/mail.html
var templateFS embed.FS

var (
	defaultText = template.Must(template.ParseFS(templateFS, "templates/mail.txt"))
	defaultHTML = htmltemplate.Must(htmltemplate.ParseFS(templateFS, "templates/mail.html"))
)

// Data fills a mail. Link and Code are optional.
type Data struct {
	To       string
	Tenant   string // the tenant's display name
	Slug     string // picks the tenant's template overrides
	Link     string
	Code     string
	Minutes  int    // how long the link or code stays valid
	Support  string // support address, "" for none
	Colour   string // primary colour (#rrggbb) of the button
	Language string
	// Title and Body are the subject and text of an announcement
	// (KindAnnouncement), already in the recipient's language.
	Title, Body string
}

// view is what a template sees: the catalog's sentences already filled.
type view struct {
	Data
	Lang, Subject, Intro, Action, CodeIntro, CodeLine, Ignore, Footer string
}

// Renderer renders mails from the catalog. Dir, when set, holds tenant
// overrides: {Dir}/{slug}/{kind}.{lang}.txt and .html are templates that
// replace the defaults for that tenant, kind and language (they see the
// same fields as templates/mail.txt).
type Renderer struct {
	Catalog *i18n.Catalog
	Dir     string
}

var slugRE = regexp.MustCompile(`^[a-z0-9-]{1,40}$`)
var colourRE = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// Render renders a mail of kind in lang (English when lang has no catalog).
func (r *Renderer) Render(kind string, d Data) (Message, error) {
	if !kinds[kind] {
		return Message{}, errors.New("mail: unknown kind " + kind)
	}
	lang := d.Language
	if !i18n.Supported(lang) {
		lang = i18n.Fallback
	}
	if !colourRE.MatchString(d.Colour) {
		d.Colour = "#1f6feb"
	}
	c := r.Catalog
	if c == nil {
		c = i18n.Default()
	}
	t := c.Translator(lang)
	k, ak, ignore := "mail."+kind+".", "mail."+kind+".", "ignore"
	if s, ok := sharedKeys[kind]; ok {
		ak = "mail." + s + "."
		if d.Link == "" {
			ignore = "ignore_nolink"
		}
	}
	v := view{Data: d, Lang: lang,
		Subject: t(k+"subject", "tenant", d.Tenant),
		Intro:   t(k+"intro", "tenant", d.Tenant, "minutes", d.Minutes),
		Action:  t(ak + "action"),
		Ignore:  t(ak+ignore, "tenant", d.Tenant),
		Footer:  t("mail.footer", "tenant", d.Tenant),
	}
	if kind == KindAnnouncement {
		v.Subject, v.Intro, v.Action, v.Ignore = d.Title, d.Body, t("mail.announcement.action"), t("mail.announcement.ignore")
	}
	if d.Code != "" {
		v.CodeIntro = t("mail.code_intro")
		v.CodeLine = v.CodeIntro + " " + d.Code
	}
	if d.Support != "" {
		v.Support = t("layout.support", "address", d.Support)
	}
	var txt, html bytes.Buffer
	tt, ht := r.overrides(d.Slug, kind, lang)
	if err := tt.Execute(&txt, v); err != nil {
		return Message{}, err
	}
	if err := ht.Execute(&html, v); err != nil {
		return Message{}, err
	}
	return Message{To: d.To, Subject: v.Subject, Text: txt.String(), HTML: html.String(), Link: d.Link}, nil
}

// overrides answers the tenant's templates where it has them, else the
// defaults. A broken override falls back too (and shows in its test).
func (r *Renderer) overrides(slug, kind, lang string) (*template.Template, *htmltemplate.Template) {
	tt, ht := defaultText, defaultHTML
	if r.Dir == "" || !slugRE.MatchString(slug) {
		return tt, ht
	}
	base := filepath.Join(r.Dir, slug, kind+"."+lang)
	if b, err := os.ReadFile(base + ".txt"); err == nil {
		if t, err := template.New("o").Parse(string(b)); err == nil {
			tt = t
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return tt, ht
	}
	if b, err := os.ReadFile(base + ".html"); err == nil {
		if t, err := htmltemplate.New("o").Parse(string(b)); err == nil {
			ht = t
		}
	}
	return tt, ht
}
