package xmlguard

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	ok := []string{
		`<a/>`,
		`<?xml version="1.0" encoding="UTF-8"?><samlp:AuthnRequest xmlns:samlp="urn:x" ID="a"><b>t &amp; &lt;</b></samlp:AuthnRequest>`,
		"\n<a>\n</a>\n",
	}
	for _, doc := range ok {
		if err := Check([]byte(doc), Limits{}); err != nil {
			t.Errorf("Check(%q) = %v; want nil", doc, err)
		}
	}
	bomb := `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><a>&lol2;</a>`
	refused := map[string]string{
		"DTD":               `<!DOCTYPE a [<!ELEMENT a ANY>]><a/>`,
		"external entity":   `<?xml version="1.0"?><!DOCTYPE a [<!ENTITY xxe SYSTEM "file:///etc/passwd">]><a>&xxe;</a>`,
		"entity expansion":  bomb,
		"undeclared entity": `<a>&xxe;</a>`,
		"parameter entity":  `<!DOCTYPE a [<!ENTITY % p SYSTEM "http://127.0.0.1/x">%p;]><a/>`,
		"lowercase doctype": `<!doctype a><a/>`,
		"PI":                `<?xml-stylesheet href="x"?><a/>`,
		"two roots":         `<a/><b/>`,
		"no root":           ``,
		"unclosed":          `<a><b></a>`,
		"text outside":      `<a/>junk`,
		"deep":              strings.Repeat("<a>", 40) + strings.Repeat("</a>", 40),
		"many elements":     "<r>" + strings.Repeat("<a/>", 6000) + "</r>",
		"many attributes":   "<a " + attrs(70) + "/>",
		"big":               "<a>" + strings.Repeat("x", 300<<10) + "</a>",
		"utf-16 charset":    `<?xml version="1.0" encoding="UTF-16"?><a/>`,
		"not xml":           "SAMLRequest",
	}
	for name, doc := range refused {
		if err := Check([]byte(doc), Limits{}); !errors.Is(err, ErrRefused) {
			t.Errorf("%s: Check = %v; want ErrRefused", name, err)
		}
	}
}

func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString(" a")
		b.WriteString(strings.Repeat("x", i+1))
		b.WriteString(`="1"`)
	}
	return b.String()
}
