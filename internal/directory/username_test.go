package directory

import (
	"regexp"
	"strings"
	"testing"

	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// TestCheckUsernameAsCountedPattern: checkUsername refuses exactly what
// the counted pattern it replaced refused, lengths at and past the bound
// and multi-byte letters included.
func TestCheckUsernameAsCountedPattern(t *testing.T) {
	counted := regexp.MustCompile(`^[\p{L}\p{N}][\p{L}\p{N}._@-]{1,127}$`)
	var cases []string
	for _, unit := range []string{"a", "é", "日", "٣", "_", "@", ".", " ", "\xff"} {
		for _, n := range []int{1, 2, 3, 127, 128, 129, 200} {
			cases = append(cases, strings.Repeat(unit, n), "u"+strings.Repeat(unit, n), strings.Repeat(unit, n)+"u")
		}
	}
	cases = append(cases, "alice", "alice@contoso.com", ".alice", "al ice", "a\u200bb")
	for _, s := range cases {
		var c valid.Collector
		checkUsername(&c, s)
		if got, want := c.Err() == nil, counted.MatchString(s); got != want {
			t.Errorf("checkUsername(%q, %d runes) accepts: %v, counted pattern %v", s, len([]rune(s)), got, want)
		}
	}
}
