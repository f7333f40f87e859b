package scimfilter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// show writes a tree in a fixed, fully parenthesised form.
func show(e Expr) string {
	switch e := e.(type) {
	case *And:
		return "(" + show(e.L) + " AND " + show(e.R) + ")"
	case *Or:
		return "(" + show(e.L) + " OR " + show(e.R) + ")"
	case *Not:
		return "NOT " + show(e.X)
	case *Compare:
		if e.Op == OpPr {
			return e.Attr.String() + " pr"
		}
		v := e.Value
		switch v.Kind {
		case KindString:
			return fmt.Sprintf("%s %s %q", e.Attr, e.Op, v.Str)
		case KindNumber:
			return fmt.Sprintf("%s %s %s", e.Attr, e.Op, v.Num)
		case KindBool:
			return fmt.Sprintf("%s %s %t", e.Attr, e.Op, v.Bool)
		}
		return fmt.Sprintf("%s %s null", e.Attr, e.Op)
	case *ValuePath:
		return e.Attr.String() + "[" + show(e.Filter) + "]"
	}
	return "?"
}

func TestParse(t *testing.T) {
	for in, want := range map[string]string{
		`userName eq "bjensen"`:                        `userName eq "bjensen"`,
		`USERNAME EQ "a"`:                              `USERNAME eq "a"`,
		`name.familyName co "O'Malley"`:                `name.familyName co "O'Malley"`,
		`title pr`:                                     `title pr`,
		`a eq 1 or b eq 2 and c eq 3`:                  `(a eq 1 OR (b eq 2 AND c eq 3))`,
		`(a eq 1 or b eq 2) and c eq 3`:                `((a eq 1 OR b eq 2) AND c eq 3)`,
		`not (a eq true) and b ne null`:                `(NOT a eq true AND b ne null)`,
		`a eq "x" and b eq "y" and c eq "z"`:           `((a eq "x" AND b eq "y") AND c eq "z")`,
		`meta.lastModified gt "2011-05-13T04:42:34Z"`:  `meta.lastModified gt "2011-05-13T04:42:34Z"`,
		`emails[type eq "work" and value co "@x.com"]`: `emails[(type eq "work" AND value co "@x.com")]`,
		`emails[type eq "work"] or userName sw "J"`:    `(emails[type eq "work"] OR userName sw "J")`,
		`x eq "a \"quoted\" \\ \u00e9"`:                `x eq "a \"quoted\" \\ é"`,
		`x eq -1.5e3`:                                  `x eq -1.5e3`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"`: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m"`,
	} {
		e, err := Parse(in)
		if err != nil {
			t.Errorf("Parse(%q): %v", in, err)
			continue
		}
		if got := show(e); got != want {
			t.Errorf("Parse(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{``, `userName`, `userName eq`, `userName xx "a"`, `userName eq bob`,
		`(userName eq "a"`, `userName eq "a")`, `emails[type eq "a"`, `emails[type eq "a"]]`, `a eq "unterminated`,
		`emails[value[x eq "a"]]`, `name.given.name eq "a"`, `1abc eq "a"`, `a eq "x" and`, `not a eq "x"`,
		`a eq "x" or or b eq "y"`, `name.givenName[x eq "a"]`, `a eq 01`, `a eq "\x"`,
		strings.Repeat("(", MaxDepth+1) + `a pr` + strings.Repeat(")", MaxDepth+1),
		strings.TrimSuffix(strings.Repeat(`a pr or `, MaxNodes+1), " or "),
		`a eq "` + strings.Repeat("x", MaxLen) + `"`,
	} {
		if e, err := Parse(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("Parse(%.60q) = %v, %v; want ErrSyntax", in, e, err)
		}
	}
}

func TestParsePath(t *testing.T) {
	for in, want := range map[string]string{
		`members`:                                 `members||`,
		`name.givenName`:                          `name.givenName||`,
		`members[value eq "2819c223"]`:            `members|value eq "2819c223"|`,
		`emails[type eq "work"].value`:            `emails|type eq "work"|value`,
		`addresses[type eq "work"].streetAddress`: `addresses|type eq "work"|streetAddress`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`: `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber||`,
	} {
		p, err := ParsePath(in)
		if err != nil {
			t.Errorf("ParsePath(%q): %v", in, err)
			continue
		}
		f := ""
		if p.Filter != nil {
			f = show(p.Filter)
		}
		if got := p.Attr.String() + "|" + f + "|" + p.Sub; got != want {
			t.Errorf("ParsePath(%q) = %s, want %s", in, got, want)
		}
	}
	for _, in := range []string{``, `emails[`, `emails[type eq "work"]value`, `emails[type eq "work"].`, `name.givenName[x eq "a"]`,
		`emails]x[`, `a b`} {
		if _, err := ParsePath(in); !errors.Is(err, ErrSyntax) {
			t.Errorf("ParsePath(%q): %v, want ErrSyntax", in, err)
		}
	}
}
