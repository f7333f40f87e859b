package configcode

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

// Export answers tenant's current state in the format, as YAML: applying
// it to the same installation plans nothing. Secrets appear only as the
// references they were applied from; secrets set through the API or the
// console do not appear at all. Groups' members are not exported.
func Export(ctx context.Context, s *Services, tenant string) ([]byte, error) {
	var doc Document
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		js := s.in(tx)
		t, err := js.Tenants.Resolve(ctx, tenant)
		if err != nil {
			return err
		}
		l, err := readLive(ctx, js, t)
		if err != nil {
			return err
		}
		doc.Tenants = []Tenant{exportTenant(l)}
		return errRollback
	})
	if err != errRollback {
		return nil, err
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	n, err := jsonToNode(json.NewDecoder(bytes.NewReader(b)))
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	enc := yaml.NewEncoder(&out)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

func exportTenant(l *live) Tenant {
	set := l.settings
	clients, groups := l.idNames()
	mfaToNames(&set, clients, groups)
	raw, _ := json.Marshal(set)
	t := Tenant{Slug: l.tenant.Slug, Name: l.tenant.Name, Settings: &SettingsDoc{raw: raw}}
	each := func(list string, add func(any)) {
		for _, k := range l.order[list] {
			add(l.objects[list][k].typed)
		}
	}
	each("clients", func(v any) { t.Clients = append(t.Clients, *v.(*Client)) })
	each("saml_sps", func(v any) { t.SAMLSPs = append(t.SAMLSPs, *v.(*SAMLSP)) })
	each("connections", func(v any) { t.Connections = append(t.Connections, *v.(*Connection)) })
	each("roles", func(v any) { t.Roles = append(t.Roles, *v.(*Role)) })
	each("groups", func(v any) { t.Groups = append(t.Groups, *v.(*Group)) })
	return t
}

// jsonToNode reads one JSON value into a YAML node, keeping the order of
// object keys (the Go types' field order); multi-line strings are written
// as literal blocks.
func jsonToNode(dec *json.Decoder) (*yaml.Node, error) {
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	return tokenToNode(dec, tok)
}

func tokenToNode(dec *json.Decoder, tok json.Token) (*yaml.Node, error) {
	switch v := tok.(type) {
	case json.Delim:
		n := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		if v == '{' {
			n = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
		for dec.More() {
			if v == '{' {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(k)})
			}
			t, err := dec.Token()
			if err != nil {
				return nil, err
			}
			c, err := tokenToNode(dec, t)
			if err != nil {
				return nil, err
			}
			n.Content = append(n.Content, c)
		}
		if _, err := dec.Token(); err != nil { // the closing delimiter
			return nil, err
		}
		return n, nil
	case string:
		n := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
		if strings.Contains(v, "\n") {
			n.Style = yaml.LiteralStyle
		}
		return n, nil
	case json.Number:
		tag := "!!int"
		if strings.ContainsAny(string(v), ".eE") {
			tag = "!!float"
		}
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: tag, Value: string(v)}, nil
	case bool:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(v)}, nil
	case nil:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	return nil, io.ErrUnexpectedEOF
}
