package ident

import "testing"

func TestSkeleton(t *testing.T) {
	same := [][2]string{
		{"carol@example.com", "саrol@example.com"},       // Cyrillic с, а
		{"carol@example.com", "carol\u200b@example.com"}, // zero-width space
		{"carol@example.com", "car\u202eol@example.com"}, // bidi override
		{"paypal", "раураl"},                             // all Cyrillic
		{"alice", "аlicе"},                               // Cyrillic а, е
		{"olga", "οlgα"},                                 // Greek ο, α
		{"bill", "bi11"},                                 // digits
		{"mary", "rnary"},                                // letter pair
		{"zoë", "zoё"},                                   // Cyrillic ё decomposes
		{"josé", "jose\u0301"},
		{"carol@example.com", "caroI@example.com"}, // capital I for l
		{"carol@example.com", "CAROL@EXAMPLE.COM"}, // case
		{"carol@example.com", "ｃａｒｏｌ@example.com"}, // full width                           // NFD
	}
	for _, c := range same {
		if a, b := Skeleton(c[0]), Skeleton(c[1]); a != b {
			t.Errorf("Skeleton(%q) = %q, Skeleton(%q) = %q: want equal", c[0], a, c[1], b)
		}
	}
	differ := [][2]string{
		{"carol@example.com", "caro@example.com"},
		{"carol@example.com", "сагоl@example.com"}, // Cyrillic г is not r
		{"josé@example.com", "jose@example.com"},   // a diacritic is a different letter
		{"用户@example.com", "用戶@example.com"},
	}
	for _, c := range differ {
		if a, b := Skeleton(c[0]), Skeleton(c[1]); a == b {
			t.Errorf("Skeleton(%q) = Skeleton(%q) = %q: want different", c[0], c[1], a)
		}
	}
}

func TestInvisible(t *testing.T) {
	for _, s := range []string{"carol\u200b", "car\u200dol", "\u202ecarol", "carol\u2066", "car\u00adol", "\ufeffcarol", "carol\ufe0f", "caro\u034fl"} {
		if !Invisible(s) {
			t.Errorf("Invisible(%q) = false", s)
		}
	}
	for _, s := range []string{"carol", "josé", "用户", "o'neil+tag", "анна"} {
		if Invisible(s) {
			t.Errorf("Invisible(%q) = true", s)
		}
	}
}

func TestMixedScript(t *testing.T) {
	for _, s := range []string{"саrol", "pаypal", "olgα", "ab\u05d0"} {
		if !MixedScript(s) {
			t.Errorf("MixedScript(%q) = false", s)
		}
	}
	for _, s := range []string{"carol", "анна", "josé", "用户", "yamada山田たろう", "kim김철수", "user.42_x-y", "ελένη", "ça"} {
		if MixedScript(s) {
			t.Errorf("MixedScript(%q) = true", s)
		}
	}
}
