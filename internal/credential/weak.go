package credential

import (
	_ "embed"
	"strings"
	"sync"
	"unicode"
)

//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords is the embedded blocklist as a set, built on first use.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	m := make(map[string]struct{}, 1024)
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		m[strings.ToLower(line)] = struct{}{}
	}
	return m
})

// isPunct reports punctuation, symbols and spaces, which people commonly
// bolt onto a weak password ("password!").
func isPunct(r rune) bool {
	return unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r)
}

func isDigitOrPunct(r rune) bool { return unicode.IsDigit(r) || isPunct(r) }

// cores returns s and the variants of s with leading/trailing punctuation,
// or digits and punctuation, removed ("Password123!" -> "password").
func cores(s string) []string {
	out := []string{s,
		strings.TrimRightFunc(s, isPunct),
		strings.TrimFunc(s, isPunct),
		strings.TrimRightFunc(s, isDigitOrPunct),
		strings.TrimFunc(s, isDigitOrPunct),
	}
	if u := period(s); u > 0 {
		// "passwordpassword" -> "password"
		out = append(out, string([]rune(s)[:u]))
	}
	return out
}

// unleet undoes common character substitutions ("p@ssw0rd" -> "password").
var unleet = strings.NewReplacer("0", "o", "1", "i", "3", "e", "4", "a", "5", "s", "7", "t", "@", "a", "$", "s", "!", "i")

// isCommon reports whether lower (a lowercased NFKC password), stripped of
// decoration and with common substitutions undone, is on the blocklist.
func isCommon(lower string) bool {
	set := commonPasswords()
	for _, c := range cores(lower) {
		if c == "" {
			continue
		}
		if _, ok := set[c]; ok {
			return true
		}
		if _, ok := set[unleet.Replace(c)]; ok {
			return true
		}
	}
	return false
}

// maxRepeatUnit is the longest unit whose repetition counts as repetitive:
// a repeated unit shorter than the minimum length adds no real strength.
const maxRepeatUnit = minMinLength - 1

// isRepetitive reports whether lower, or its core without trailing digits
// and punctuation (if that has at least 4 code points), is a short unit
// repeated ("aaaaaaaa", "abcabcab", "haha") or a pure ascending or
// descending run of letters or digits ("12345678", "abcdefgh", "87654321").
func isRepetitive(lower string) bool {
	for _, c := range []string{lower, strings.TrimRightFunc(lower, isPunct), strings.TrimRightFunc(lower, isDigitOrPunct)} {
		r := []rune(c)
		if len(r) < 4 {
			continue
		}
		if u := period(c); u > 0 && u <= maxRepeatUnit || isSequence(r) {
			return true
		}
	}
	return false
}

// period returns the smallest u such that s repeats its first u code points
// at least twice (s[i] == s[i-u] for all i >= u, len >= 2u), or 0.
func period(s string) int {
	r := []rune(s)
	for u := 1; 2*u <= len(r); u++ {
		periodic := true
		for i := u; i < len(r); i++ {
			if r[i] != r[i-u] {
				periodic = false
				break
			}
		}
		if periodic {
			return u
		}
	}
	return 0
}

// isSequence reports whether r is at least 3 letters, or 3 digits, each one
// code point above (or each one below) the previous.
func isSequence(r []rune) bool {
	if len(r) < 3 {
		return false
	}
	step := r[1] - r[0]
	if step != 1 && step != -1 {
		return false
	}
	class := unicode.IsLetter
	if !unicode.IsLetter(r[0]) {
		class = unicode.IsDigit
	}
	for i, c := range r {
		if !class(c) || i > 0 && c-r[i-1] != step {
			return false
		}
	}
	return true
}
