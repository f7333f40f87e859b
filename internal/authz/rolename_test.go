package authz

import (
	"regexp"
	"strings"
	"testing"
)

// TestValidRoleNameAsCountedPattern: validRoleName accepts exactly what
// the counted pattern it replaced accepted, lengths at and past the bound
// and multi-byte letters included.
func TestValidRoleNameAsCountedPattern(t *testing.T) {
	counted := regexp.MustCompile(`^[\p{L}\p{N}_][\p{L}\p{N} _.:/-]{0,99}$`)
	var cases []string
	for _, unit := range []string{"a", "é", "日", "٣", "_", " ", "-", "!", "\xff"} {
		for _, n := range []int{0, 1, 2, 99, 100, 101, 150} {
			cases = append(cases, strings.Repeat(unit, n), "r"+strings.Repeat(unit, n), strings.Repeat(unit, n)+"r")
		}
	}
	cases = append(cases, "billing:admin", "Billing Admins", "ops/on-call", " lead", "a\nb", "x\u200by")
	for _, s := range cases {
		if got, want := validRoleName(s), counted.MatchString(s); got != want {
			t.Errorf("validRoleName(%q, %d runes) = %v, counted pattern %v", s, len([]rune(s)), got, want)
		}
	}
}
