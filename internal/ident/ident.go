// Package ident holds the text rules for identifiers (email addresses and
// usernames) that make two accounts look like one person: invisible and
// bidirectional control characters, letters of scripts mixed in one name,
// and the confusable skeleton of Unicode TS #39 by which look-alikes
// compare equal. It is pure text, imports nothing of Gatehouse, and the
// store uses it to derive its skeleton columns.
package ident

import (
	"sort"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// Invisible reports whether s holds a character that renders as nothing
// or reorders its neighbours: format characters (zero-width space and
// joiners, bidi embeddings, overrides, isolates and marks, the byte order
// mark, soft hyphen), variation selectors and the other default-ignorable
// code points. Such a character makes two addresses that look the same
// compare different.
func Invisible(s string) bool {
	return strings.IndexFunc(s, invisible) >= 0
}

func invisible(r rune) bool {
	return unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) ||
		unicode.Is(unicode.Variation_Selector, r)
}

// scriptNames is every script but Common and Inherited (characters of
// those belong to any script), sorted so lookups are deterministic.
var scriptNames = func() []string {
	var ns []string
	for n := range unicode.Scripts {
		if n != "Common" && n != "Inherited" {
			ns = append(ns, n)
		}
	}
	sort.Strings(ns)
	return ns
}()

// scriptOf answers the script of r, or "" for Common and Inherited.
func scriptOf(r rune) string {
	if r < 0x80 {
		if ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') {
			return "Latin"
		}
		return ""
	}
	for _, n := range scriptNames {
		if unicode.Is(unicode.Scripts[n], r) {
			return n
		}
	}
	return ""
}

// allowedMixes are the script sets one identifier may combine, as TS #39's
// Highly Restrictive level allows: Latin with the scripts that Chinese,
// Japanese and Korean writing use together.
var allowedMixes = []map[string]bool{
	{"Latin": true, "Han": true, "Hiragana": true, "Katakana": true},
	{"Latin": true, "Han": true, "Bopomofo": true},
	{"Latin": true, "Han": true, "Hangul": true},
}

// MixedScript reports whether s mixes letters of scripts that are not
// written together (Latin with Cyrillic, say, as in "саrol" whose first
// two letters are Cyrillic). Digits and punctuation belong to every
// script and never count.
func MixedScript(s string) bool {
	seen := map[string]bool{}
	for _, r := range s {
		if n := scriptOf(r); n != "" {
			seen[n] = true
		}
	}
	if len(seen) <= 1 {
		return false
	}
next:
	for _, mix := range allowedMixes {
		for n := range seen {
			if !mix[n] {
				continue next
			}
		}
		return false
	}
	return true
}

// Skeleton is the TS #39 skeleton of the identifier s, in whatever case
// it was typed: NFKC, folded to lower case, in NFD with default-ignorable
// code points removed, each character replaced by the prototype it is
// confusable with (confusables.go says what the table covers), and NFD
// again. Two identifiers with equal skeletons look alike. Identifiers are
// shown as typed, so the capitals that read as a lower-case l (Latin I,
// Greek Ι, Cyrillic І and Ӏ) become l before the fold: "caroI" looks like
// "carol", whatever "caroi" looks like.
func Skeleton(s string) string {
	s = strings.ToLower(strings.Map(func(r rune) rune {
		if capitalI[r] {
			return 'l'
		}
		return r
	}, norm.NFKC.String(s)))
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		if invisible(r) {
			continue
		}
		if p, ok := confusables[r]; ok {
			b.WriteString(p)
			continue
		}
		b.WriteRune(r)
	}
	return norm.NFD.String(b.String())
}

// capitalI is the capitals that read as a lower-case l in the sans-serif
// type most pages use.
var capitalI = map[rune]bool{'I': true, 'Ι': true, 'І': true, 'Ӏ': true}
