// Package xmlguard screens untrusted XML before any parser that builds a
// tree or checks a signature sees it: no DTD (so no entity declarations,
// external entities or entity expansion), no processing instructions but
// the XML declaration, bounded size, depth, element count and attribute
// count. It is the guard in front of crewjam/saml, goxmldsig and etree,
// which are not written to refuse all of these themselves.
package xmlguard

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits bound a document. Zero fields take the defaults.
type Limits struct {
	MaxBytes    int // default 256 KiB
	MaxDepth    int // default 32
	MaxElements int // default 5,000
	MaxAttrs    int // attributes of one element, default 64
}

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("xmlguard: document refused")

func refuse(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrRefused, fmt.Sprintf(format, args...))
}

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = 256 << 10
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	if l.MaxElements <= 0 {
		l.MaxElements = 5000
	}
	if l.MaxAttrs <= 0 {
		l.MaxAttrs = 64
	}
	return l
}

// Check reads data as XML and refuses it (an error wrapping ErrRefused)
// if it breaks a rule or a limit, or is not well-formed with exactly one
// root element.
func Check(data []byte, lim Limits) error {
	lim = lim.withDefaults()
	if len(data) > lim.MaxBytes {
		return refuse("larger than %d bytes", lim.MaxBytes)
	}
	// A DTD anywhere is refused before tokenising: encoding/xml passes a
	// DOCTYPE through as a Directive, other parsers may act on it.
	if bytes.Contains(data, []byte("<!DOCTYPE")) || bytes.Contains(data, []byte("<!ENTITY")) {
		return refuse("a DTD or entity declaration")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	d.Entity = nil // only the five predefined entities
	d.CharsetReader = func(label string, r io.Reader) (io.Reader, error) {
		if strings.EqualFold(label, "utf-8") || strings.EqualFold(label, "us-ascii") {
			return r, nil
		}
		return nil, refuse("charset %q", label)
	}
	depth, elements, roots := 0, 0, 0
	for {
		tok, err := d.RawToken()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if errors.Is(err, ErrRefused) {
				return err
			}
			return refuse("not well-formed: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			elements++
			if depth == 1 {
				roots++
			}
			switch {
			case roots > 1:
				return refuse("more than one root element")
			case depth > lim.MaxDepth:
				return refuse("nested deeper than %d", lim.MaxDepth)
			case elements > lim.MaxElements:
				return refuse("more than %d elements", lim.MaxElements)
			case len(t.Attr) > lim.MaxAttrs:
				return refuse("an element with more than %d attributes", lim.MaxAttrs)
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return refuse("a directive (DTD)")
		case xml.ProcInst:
			if t.Target != "xml" {
				return refuse("a processing instruction")
			}
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return refuse("text outside the root element")
			}
		}
	}
	if roots != 1 || depth != 0 {
		return refuse("not one complete root element")
	}
	return nil
}
