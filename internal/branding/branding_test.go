package branding

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

func TestContrast(t *testing.T) {
	if c := Contrast("#000000", "#ffffff"); c < 20.99 || c > 21.01 {
		t.Errorf("black on white = %v, want 21", c)
	}
	if c := Contrast("#777777", "#ffffff"); c < 4.47 || c > 4.49 {
		t.Errorf("#777 on white = %v, want 4.48", c)
	}
	if c := Contrast("#fff", "#000000"); c != 0 {
		t.Errorf("short hex accepted: %v", c)
	}
}

func TestAccessible(t *testing.T) {
	for _, in := range []string{"#2f5bea", "#ffffff", "#ffff00", "#00ff00", "#777777", "#ff8800", "#0000ff", "#000000"} {
		out := Accessible(in)
		if c := Contrast(out, "#ffffff"); c < MinContrast {
			t.Errorf("Accessible(%s) = %s with contrast %.2f", in, out, c)
		}
		if Contrast(in, "#ffffff") >= MinContrast && out != in {
			t.Errorf("Accessible(%s) changed a colour that passes: %s", in, out)
		}
	}
	// A failing colour keeps its hue: yellow becomes a dark yellow, not black.
	if out := Accessible("#ffff00"); out == "#000000" || out[1:3] != out[3:5] || out[5:7] != "00" {
		t.Errorf("yellow darkened to %s", out)
	}
	if Accessible("red") != DefaultColor {
		t.Errorf("invalid colour not replaced")
	}
}

func fields(err error) map[string]bool {
	out := map[string]bool{}
	var ve *valid.Error
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			out[f.Field] = true
		}
	}
	return out
}

func TestCheck(t *testing.T) {
	png := "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\nrest"))
	good := []Branding{
		{},
		{DisplayName: "Acme Kunden", LogoURL: "https://cdn.example.com/logo.png", PrimaryColor: "#AA3300", SupportEmail: "help@example.com"},
		{LogoURL: png},
		{LogoURL: "https://cdn.example.com:8443/a/b.svg?v=2"},
	}
	for _, b := range good {
		var c valid.Collector
		b.Check(&c, "branding")
		if err := c.Err(); err != nil {
			t.Errorf("%+v: %v", b, err)
		}
	}
	big := "data:image/png;base64," + base64.StdEncoding.EncodeToString(append([]byte("\x89PNG\r\n\x1a\n"), make([]byte, MaxLogoBytes)...))
	bad := []struct {
		b     Branding
		field string
	}{
		{Branding{PrimaryColor: "red"}, "primary_color"},
		{Branding{PrimaryColor: "#12345"}, "primary_color"},
		{Branding{PrimaryColor: "#123456;}body{display:none"}, "primary_color"},
		{Branding{LogoURL: "http://example.com/logo.png"}, "logo_url"},
		{Branding{LogoURL: "javascript:alert(1)"}, "logo_url"},
		{Branding{LogoURL: "https://user:pw@example.com/logo.png"}, "logo_url"},
		{Branding{LogoURL: "https://exa'mple.com/logo.png"}, "logo_url"},
		{Branding{LogoURL: "https:///logo.png"}, "logo_url"},
		{Branding{LogoURL: "data:image/svg+xml;base64,PHN2Zz48L3N2Zz4="}, "logo_url"},
		{Branding{LogoURL: "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("<script>"))}, "logo_url"},
		{Branding{LogoURL: "data:image/png;base64,!!!"}, "logo_url"},
		{Branding{LogoURL: big}, "logo_url"},
		{Branding{LogoURL: "https://example.com/" + strings.Repeat("a", MaxLogoURL)}, "logo_url"},
		{Branding{DisplayName: strings.Repeat("é", 101)}, "display_name"},
		{Branding{DisplayName: "Acme\x00"}, "display_name"},
		{Branding{SupportEmail: "Help <help@example.com>"}, "support_email"},
		{Branding{SupportEmail: "not an address"}, "support_email"},
	}
	for _, tc := range bad {
		var c valid.Collector
		tc.b.Check(&c, "branding")
		if f := fields(c.Err()); !f["branding."+tc.field] || len(f) != 1 {
			t.Errorf("%.60q: fields %v, want branding.%s", tc.b, f, tc.field)
		}
	}
}

func TestResolve(t *testing.T) {
	r := Branding{}.Resolve("Acme", "/t/acme")
	if r.Name != "Acme" || r.Color != DefaultColor || r.LogoURL != "" || r.ColorAdjusted {
		t.Errorf("defaults: %+v", r)
	}
	png := "data:image/png;base64," + base64.StdEncoding.EncodeToString([]byte("\x89PNG\r\n\x1a\n"))
	r = Branding{DisplayName: "Acme Shop", LogoURL: png, PrimaryColor: "#ffcc00"}.Resolve("Acme", "https://id.example.com/t/acme")
	if r.Name != "Acme Shop" || r.LogoURL != "https://id.example.com/t/acme/branding/logo" || r.LogoOrigin != "" {
		t.Errorf("inline logo: %+v", r)
	}
	if !r.ColorAdjusted || Contrast(r.Color, "#ffffff") < MinContrast {
		t.Errorf("yellow not made accessible: %+v", r)
	}
	r = Branding{LogoURL: "https://cdn.example.com/l.png"}.Resolve("Acme", "/t/acme")
	if r.LogoURL != "https://cdn.example.com/l.png" || r.LogoOrigin != "https://cdn.example.com" {
		t.Errorf("external logo: %+v", r)
	}
}
