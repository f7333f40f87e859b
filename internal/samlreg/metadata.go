package samlreg

import (
	"encoding/xml"
	"errors"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/xmlguard"
)

// Metadata is what a registration takes from a provider's SAML metadata.
type Metadata struct {
	EntityID             string
	ACS                  []store.SAMLEndpoint
	SLOURL, SLOBinding   string
	Certificate          string // base64 DER of the first signing (or unqualified) key
	NameIDFormat         string
	RequestsSigned       bool
	WantAssertionsSigned bool
}

type mdEndpoint struct {
	Binding   string `xml:"Binding,attr"`
	Location  string `xml:"Location,attr"`
	Index     int    `xml:"index,attr"`
	IsDefault bool   `xml:"isDefault,attr"`
}

type mdKey struct {
	Use  string `xml:"use,attr"`
	Cert string `xml:"KeyInfo>X509Data>X509Certificate"`
}

type mdSP struct {
	AuthnRequestsSigned  bool         `xml:"AuthnRequestsSigned,attr"`
	WantAssertionsSigned bool         `xml:"WantAssertionsSigned,attr"`
	Keys                 []mdKey      `xml:"KeyDescriptor"`
	SLO                  []mdEndpoint `xml:"SingleLogoutService"`
	NameIDFormats        []string     `xml:"NameIDFormat"`
	ACS                  []mdEndpoint `xml:"AssertionConsumerService"`
}

type mdEntity struct {
	XMLName  xml.Name `xml:"urn:oasis:names:tc:SAML:2.0:metadata EntityDescriptor"`
	EntityID string   `xml:"entityID,attr"`
	SP       []mdSP   `xml:"SPSSODescriptor"`
}

// ParseMetadata reads an EntityDescriptor with one SPSSODescriptor, after
// xmlguard has screened it (no DTD, bounded size and shape). Only the
// HTTP-POST assertion consumer services are kept.
func ParseMetadata(data []byte) (*Metadata, error) {
	if err := xmlguard.Check(data, xmlguard.Limits{MaxBytes: maxMetadataSz}); err != nil {
		return nil, errors.New("the metadata is not acceptable XML")
	}
	var e mdEntity
	if err := xml.Unmarshal(data, &e); err != nil {
		return nil, errors.New("the metadata is not an EntityDescriptor")
	}
	if len(e.SP) != 1 {
		return nil, errors.New("the metadata must describe exactly one service provider (SPSSODescriptor)")
	}
	sp := e.SP[0]
	md := &Metadata{EntityID: e.EntityID, RequestsSigned: sp.AuthnRequestsSigned, WantAssertionsSigned: sp.WantAssertionsSigned}
	for _, a := range sp.ACS {
		if a.Binding == BindingPOST {
			md.ACS = append(md.ACS, store.SAMLEndpoint{Binding: a.Binding, Location: a.Location, Index: a.Index, Default: a.IsDefault})
		}
	}
	for _, s := range sp.SLO {
		if s.Binding == BindingRedirect || s.Binding == BindingPOST {
			md.SLOURL, md.SLOBinding = s.Location, s.Binding
			if s.Binding == BindingRedirect {
				break
			}
		}
	}
	for _, k := range sp.Keys {
		if k.Use == "" || k.Use == "signing" {
			md.Certificate = strings.Join(strings.Fields(k.Cert), "")
			break
		}
	}
	for _, f := range sp.NameIDFormats {
		if f = strings.TrimSpace(f); f != "" && (f == NameIDEmail || f == NameIDPersistent || f == NameIDTransient || f == NameIDUnspecified) {
			md.NameIDFormat = f
			break
		}
	}
	return md, nil
}
