package store

import (
	"context"
	"errors"
)

// DirOp is the operator of a DirFilter node.
type DirOp uint8

// DirFilter operators. And/Or/Not combine Sub; the others test Field.
const (
	DirFalse   DirOp = iota // matches nothing
	DirTrue                 // matches everything
	DirAnd                  // every Sub matches (an empty And is true)
	DirOr                   // some Sub matches (an empty Or is false)
	DirNot                  // Sub[0] does not match
	DirEq                   // Field equals Value
	DirGE                   // Field >= Value (the backend's text order)
	DirLE                   // Field <= Value
	DirPresent              // Field has a value
	DirSubstr               // Field starts with Initial, contains Any in order, ends with Final
)

// DirField names what a DirFilter leaf tests. Text fields hold the folded
// (lower-case, NFKC) forms the directory stores for lookup; callers pass
// Value, Initial, Any and Final folded the same way.
type DirField string

// Fields of users (U), groups (G) or both.
const (
	FieldID          DirField = "id"           // U G: the record id
	FieldUID         DirField = "uid"          // U: username, or the email when there is none
	FieldEmail       DirField = "email"        // U
	FieldGivenName   DirField = "given_name"   // U
	FieldFamilyName  DirField = "family_name"  // U
	FieldDisplayName DirField = "display_name" // U: "given family", the uid when both are empty
	FieldStatus      DirField = "status"       // U: Eq only, exact status
	FieldName        DirField = "name"         // G: the group name (lower-cased by the backend)
	FieldMemberOf    DirField = "member_of"    // U G: Eq/Present: a direct parent group named Value
	FieldMemberUID   DirField = "member_uid"   // G: Eq/Present: a direct member user whose uid is Value
	FieldMemberGroup DirField = "member_group" // G: Eq/Present: a direct member group named Value
)

// DirFilter is a boolean condition over users or groups that a backend
// runs as one bounded query. A leaf whose operator a field does not
// support (Substr on member_of, say) matches nothing.
type DirFilter struct {
	Op    DirOp
	Field DirField
	Value string
	// Substr parts; Any in order, each non-empty.
	Initial string
	Any     []string
	Final   string
	Sub     []DirFilter
}

// Bounds of a DirFilter that backends enforce (ErrFilterTooComplex).
const (
	MaxDirFilterDepth = 16
	MaxDirFilterNodes = 200
)

// ErrFilterTooComplex: a filter deeper or larger than the bounds above, or
// one naming a field the record kind does not have.
var ErrFilterTooComplex = errors.New("store: directory filter too complex or invalid")

// DirFilterUsers and DirFilterGroups are the bounded filtered reads behind
// the LDAP interface: records of tenant matching f, ordered by id after
// p.After, at most p.ClampLimit() of them. ErrFilterTooComplex when f is
// out of bounds or names a field of the other kind.
type DirSearch interface {
	FilterUsers(ctx context.Context, tenant TenantID, f DirFilter, p Page) ([]User, error)
	FilterGroups(ctx context.Context, tenant TenantID, f DirFilter, p Page) ([]Group, error)
}
