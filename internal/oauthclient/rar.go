package oauthclient

// Rich authorization requests (RFC 9396): a tenant registers the
// authorization details types its clients may ask for, each with a JSON
// Schema (draft 2020-12) its objects must meet; CheckDetails validates a
// request's authorization_details against them.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/gatehouse-id/gatehouse/internal/events"
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// Bounds of types and of a request's details.
const (
	maxSchemaBytes   = 16 << 10
	MaxDetailsBytes  = 8 << 10
	maxDetailObjects = 10
	maxDescription   = 200
)

var detailTypeRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$`)

// DetailType is the input of PutDetailType.
type DetailType struct {
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
}

// compileSchema compiles a type's schema; remote references are refused
// (the loader knows no URLs).
func compileSchema(typ string, schema json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schema))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(noLoader{})
	url := "urn:gatehouse:authorization-details:" + typ
	if err := c.AddResource(url, doc); err != nil {
		return nil, err
	}
	return c.Compile(url)
}

type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema %s: remote references are not allowed", url)
}

// PutDetailType creates or replaces a tenant's type after checking its
// name, description and schema. Errors: *valid.Error, store.ErrNotFound.
func (s *Service) PutDetailType(ctx context.Context, actor events.Actor, tenant store.TenantID, typ string, in DetailType) (*store.AuthorizationDetailType, error) {
	var c valid.Collector
	if !detailTypeRE.MatchString(typ) {
		c.Add("type", "invalid", "A type is 1 to 128 letters, digits and _ . : / -, starting with a letter or digit.")
	}
	if len(in.Description) > maxDescription {
		c.Add("description", "too_long", "A description has at most 200 characters.")
	}
	switch {
	case len(in.Schema) == 0:
		c.Add("schema", "required", "A type needs the JSON Schema of its objects.")
	case len(in.Schema) > maxSchemaBytes:
		c.Add("schema", "too_long", "A schema has at most 16 KiB.")
	default:
		if _, err := compileSchema("check", in.Schema); err != nil {
			c.Add("schema", "invalid", "The schema does not compile: "+firstLine(err.Error()))
		}
	}
	if err := c.Err(); err != nil {
		return nil, err
	}
	t := &store.AuthorizationDetailType{Tenant: tenant, Type: typ, Description: in.Description, Schema: compact(in.Schema)}
	err := s.Store.InTx(ctx, func(tx store.Repos) error {
		var before map[string]any
		if old, err := tx.OAuth().AuthorizationDetails().GetDetailType(ctx, tenant, typ); err == nil {
			t.CreatedAt = old.CreatedAt
			before = detailTypeAudit(old)
		}
		if err := tx.OAuth().AuthorizationDetails().PutDetailType(ctx, t); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "authorization_detail_type.put",
			TargetType: "authorization_detail_type", TargetID: typ, Changes: events.Diff(before, detailTypeAudit(t))})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteDetailType removes a type; store.ErrNotFound when there is none.
func (s *Service) DeleteDetailType(ctx context.Context, actor events.Actor, tenant store.TenantID, typ string) error {
	return s.Store.InTx(ctx, func(tx store.Repos) error {
		old, err := tx.OAuth().AuthorizationDetails().GetDetailType(ctx, tenant, typ)
		if err != nil {
			return err
		}
		if err := tx.OAuth().AuthorizationDetails().DeleteDetailType(ctx, tenant, typ); err != nil {
			return err
		}
		return s.Audit.Record(ctx, tx, actor, events.Entry{Tenant: tenant, Action: "authorization_detail_type.delete",
			TargetType: "authorization_detail_type", TargetID: typ, Changes: events.Diff(detailTypeAudit(old), nil)})
	})
}

// ListDetailTypes answers the tenant's types by name.
func (s *Service) ListDetailTypes(ctx context.Context, tenant store.TenantID) ([]store.AuthorizationDetailType, error) {
	return s.Store.OAuth().AuthorizationDetails().ListDetailTypes(ctx, tenant)
}

func detailTypeAudit(t *store.AuthorizationDetailType) map[string]any {
	return map[string]any{"description": t.Description, "schema": json.RawMessage(t.Schema)}
}

// ErrInvalidDetails is the refusal of a request's authorization_details;
// its text says why and is safe to show the client.
type ErrInvalidDetails struct{ Reason string }

func (e *ErrInvalidDetails) Error() string { return e.Reason }

// CheckDetails validates raw, a request's authorization_details: a JSON
// array of at most 10 objects, each of a type the tenant registered and
// meeting its schema. It answers the details compacted.
func CheckDetails(ctx context.Context, repos store.Repos, tenant store.TenantID, raw string) (json.RawMessage, error) {
	bad := func(format string, args ...any) error {
		return &ErrInvalidDetails{Reason: fmt.Sprintf(format, args...)}
	}
	if len(raw) > MaxDetailsBytes {
		return nil, bad("authorization_details is larger than 8 KiB")
	}
	var list []json.RawMessage
	if err := json.Unmarshal([]byte(raw), &list); err != nil {
		return nil, bad("authorization_details must be a JSON array of objects")
	}
	if len(list) == 0 || len(list) > maxDetailObjects {
		return nil, bad("authorization_details holds 1 to 10 objects")
	}
	compiled := map[string]*jsonschema.Schema{}
	for i, obj := range list {
		var head struct {
			Type *string `json:"type"`
		}
		if err := json.Unmarshal(obj, &head); err != nil || head.Type == nil {
			return nil, bad("authorization_details[%d] is not an object with a type", i)
		}
		sch, ok := compiled[*head.Type]
		if !ok {
			t, err := repos.OAuth().AuthorizationDetails().GetDetailType(ctx, tenant, *head.Type)
			if errors.Is(err, store.ErrNotFound) {
				return nil, bad("authorization_details[%d]: type %q is unknown", i, *head.Type)
			}
			if err != nil {
				return nil, err
			}
			if sch, err = compileSchema(t.Type, t.Schema); err != nil {
				return nil, err
			}
			compiled[*head.Type] = sch
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(obj))
		if err != nil {
			return nil, bad("authorization_details[%d] is not JSON", i)
		}
		if err := sch.Validate(inst); err != nil {
			return nil, bad("authorization_details[%d] does not meet the schema of %q", i, *head.Type)
		}
	}
	return compact(json.RawMessage(raw)), nil
}

func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
