package saml

import (
	"bytes"
	"compress/flate"
	"encoding/base64"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"

	"github.com/gatehouse-id/gatehouse/internal/xmlguard"
)

// Bounds on what a browser may bring us. A real AuthnRequest or
// LogoutRequest is a few KiB; a signed one with a certificate under 16 KiB.
const (
	maxMessageXML  = 64 << 10 // inflated or decoded XML
	maxEncoded     = 96 << 10 // base64 text in a query or form
	maxBody        = 128 << 10
	maxRelayState  = 1024
	maxQueryLength = 128 << 10
)

// Namespaces of the elements the guard looks at.
const (
	nsProtocol = "urn:oasis:names:tc:SAML:2.0:protocol"
	nsDSig     = "http://www.w3.org/2000/09/xmldsig#"
)

// errRefused is the answer for every message the guard turns away: the
// browser gets a 400 page, the cause goes to the log only.
var errRefused = errors.New("saml: message refused")

// Message is a SAML protocol message as the browser brought it.
type Message struct {
	XML        []byte
	RelayState string
	Redirect   bool // HTTP-Redirect binding (deflated, in the query)
}

// readMessage takes param (SAMLRequest or SAMLResponse) from r with the
// HTTP-Redirect (GET) or HTTP-POST binding, bounded before and after
// inflating, and screens the XML (xmlguard). r's body must already be
// size-limited.
func readMessage(r *http.Request, param string) (*Message, error) {
	switch r.Method {
	case http.MethodGet:
		if len(r.URL.RawQuery) > maxQueryLength {
			return nil, errRefused
		}
		q, err := url.ParseQuery(r.URL.RawQuery)
		if err != nil || len(q[param]) != 1 || len(q["RelayState"]) > 1 {
			return nil, errRefused
		}
		return ParseRedirect(q.Get(param), q.Get("RelayState"))
	case http.MethodPost:
		if err := r.ParseForm(); err != nil {
			return nil, errRefused
		}
		if len(r.PostForm[param]) != 1 || len(r.PostForm["RelayState"]) > 1 {
			return nil, errRefused
		}
		return ParsePost(r.PostForm.Get(param), r.PostForm.Get("RelayState"))
	}
	return nil, errRefused
}

// ParseRedirect decodes an HTTP-Redirect message: base64, then DEFLATE
// inflated to at most maxMessageXML bytes (a deflate bomb stops there),
// then screened.
func ParseRedirect(encoded, relayState string) (*Message, error) {
	if len(encoded) > maxEncoded || len(relayState) > maxRelayState {
		return nil, errRefused
	}
	raw, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil {
		return nil, errRefused
	}
	xmlBytes, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(raw)), maxMessageXML+1))
	if err != nil || len(xmlBytes) > maxMessageXML {
		return nil, errRefused
	}
	if err := screen(xmlBytes); err != nil {
		return nil, err
	}
	return &Message{XML: xmlBytes, RelayState: relayState, Redirect: true}, nil
}

// ParsePost decodes an HTTP-POST message: base64, then screened.
func ParsePost(encoded, relayState string) (*Message, error) {
	if len(encoded) > maxEncoded || len(relayState) > maxRelayState {
		return nil, errRefused
	}
	xmlBytes, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(xmlBytes) > maxMessageXML {
		return nil, errRefused
	}
	if err := screen(xmlBytes); err != nil {
		return nil, err
	}
	return &Message{XML: xmlBytes, RelayState: relayState}, nil
}

// screen runs xmlguard, then the signature-wrapping rules: the root is a
// SAML protocol request or response; IDs are unique in the document; a
// signature may only be the root's direct child and must reference the
// root's ID. A wrapped message (a signed element moved under another, a
// second signature, a copy of the signed element with the same ID) never
// reaches the signature check, whose result it could otherwise confuse.
func screen(doc []byte) error {
	if err := xmlguard.Check(doc, xmlguard.Limits{MaxBytes: maxMessageXML, MaxDepth: 16, MaxElements: 500}); err != nil {
		return errors.Join(errRefused, err)
	}
	d := xml.NewDecoder(bytes.NewReader(doc))
	depth, sigs := 0, 0
	var rootID string
	ids := map[string]bool{}
	inSig := 0 // depth of the signature element, 0 outside it
	var refs []string
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return errRefused
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				if t.Name.Space != nsProtocol || !protocolRoots[t.Name.Local] {
					return errRefused
				}
			}
			for _, a := range t.Attr {
				if a.Name.Local == "ID" || a.Name.Local == "Id" || a.Name.Local == "id" {
					if ids[a.Value] {
						return errRefused
					}
					ids[a.Value] = true
					if depth == 1 && a.Name.Local == "ID" && a.Name.Space == "" {
						rootID = a.Value
					}
				}
				if inSig > 0 && t.Name.Space == nsDSig && t.Name.Local == "Reference" && a.Name.Local == "URI" {
					refs = append(refs, a.Value)
				}
			}
			if t.Name.Space == nsDSig && t.Name.Local == "Signature" {
				sigs++
				if depth != 2 || sigs > 1 {
					return errRefused
				}
				inSig = depth
			}
		case xml.EndElement:
			if inSig == depth {
				inSig = 0
			}
			depth--
		}
	}
	if rootID == "" {
		return errRefused
	}
	if sigs == 1 && (len(refs) != 1 || refs[0] != "#"+rootID) {
		return errRefused
	}
	return nil
}

var protocolRoots = map[string]bool{"AuthnRequest": true, "LogoutRequest": true, "LogoutResponse": true}
