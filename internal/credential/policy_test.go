package credential

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// runes returns s truncated or padded (with distinct letters) to n code points.
func runes(s string, n int) string {
	r := []rune(s)
	for i := 0; len(r) < n; i++ {
		r = append(r, rune('a'+i%26))
	}
	return string(r[:n])
}

func TestPolicyCheck(t *testing.T) {
	def := DefaultPolicy()
	long64 := runes("the quick brown fox jumps over a lazy dog while zebras hum 42 tunes", 64)
	if utf8.RuneCountInString(long64) != 64 {
		t.Fatal("bad fixture")
	}
	ids := []string{"jane.doe@example.com", "jane.doe", "jdoe99", "Jane", "Doe"}
	for _, tc := range []struct {
		name   string
		p      Policy
		pw     string
		ids    []string
		reason string // "" means accepted
	}{
		{"7 chars", def, "zebra-4", nil, ReasonTooShort},
		{"8 chars", def, "zebra-42", nil, ""},
		{"64 chars", def, long64, nil, ""},
		{"passphrase", def, "correct horse battery staple", nil, ""},
		{"cyrillic", def, "пароль-очень-длинный", nil, ""},
		{"emoji", def, "🐱🐶🐭🐹🐰🦊🐻🐼", nil, ""},
		{"mixed emoji", def, "мой🔑ключ-от-двери", nil, ""},
		{"7 cyrillic runes is short", def, "жирафик", nil, ReasonTooShort},
		{"8 cyrillic runes ok", def, "жирафики", nil, ""},
		{"ligature expands under NFKC", def, "ﬃzq-w8v", nil, ""},
		{"128 ok", def, runes(long64, 128), nil, ""},
		{"129 too long", def, runes(long64, 129), nil, ReasonTooLong},
		{"custom max 64", Policy{12, 64, true}, runes(long64, 65), nil, ReasonTooLong},
		{"custom min 12", Policy{12, 64, true}, "zebra-42-xy", nil, ReasonTooShort},
		{"huge input", def, strings.Repeat("x", MaxPasswordBytes+1), nil, ReasonTooLong},
		{"common", def, "password", nil, ReasonCommon},
		{"common decorated", def, "Password123!", nil, ReasonCommon},
		{"common qwerty123", def, "qwerty123", nil, ReasonCommon},
		{"common leet", def, "Pa55w0rd!", nil, ReasonCommon},
		{"common leading digits", def, "123monkey!", nil, ReasonCommon},
		{"common doubled", def, "passwordpassword", nil, ReasonCommon},
		{"common fullwidth", def, "ｐａｓｓｗｏｒｄ", nil, ReasonCommon},
		{"common keyboard walk", def, "1qaz2wsx", nil, ReasonCommon},
		{"common digit-led plus year", def, "1qaz2wsx2024", nil, ReasonCommon},
		{"common symbols", def, "!@#$%^&*", nil, ReasonCommon},
		{"common allowed when off", Policy{8, 64, false}, "password", nil, ""},
		{"single char", def, "zzzzzzzzz", nil, ReasonRepetitive},
		{"single char mixed case", def, "ZzZzZzZzZ", nil, ReasonRepetitive},
		{"repeated unit", def, "xyzxyzxyz", nil, ReasonRepetitive},
		{"repeated unit partial", def, "ab12ab12ab", nil, ReasonRepetitive},
		{"repeated then digits", def, "hahahaha2024", nil, ReasonRepetitive},
		{"ascending digits", def, "23456789", nil, ReasonRepetitive},
		{"descending digits", def, "76543210", nil, ReasonRepetitive},
		{"ascending letters", def, "lmnopqrs", nil, ReasonRepetitive},
		{"descending letters", def, "zyxwvuts!", nil, ReasonRepetitive},
		{"fullwidth sequence", def, "２３４５６７８９", nil, ReasonRepetitive},
		{"repetitive allowed when off", Policy{8, 64, false}, "zzzzzzzzz", nil, ""},
		{"not a sequence", def, "13579bdf", nil, ""},
		{"long unit is fine", def, "tangerine-otter/tangerine-otter", nil, ""},
		{"contains local part", def, "Jane.Doe-rocks", ids, ReasonContainsIdentifier},
		{"contains first name", def, "purple-JANE-42", ids, ReasonContainsIdentifier},
		{"contains username", def, "my-jdoe99-pass", ids, ReasonContainsIdentifier},
		{"equals email", def, "JANE.DOE@example.com", ids, ReasonContainsIdentifier},
		{"local part derived from email", def, "xx-jane.doe-xx", ids[:1], ReasonContainsIdentifier},
		{"short identifier as substring ok", def, "doe-purple-mountain", ids, ""},
		{"equals identifier ignoring case", def, "xq7-zw9!", []string{"XQ7-ZW9!"}, ReasonContainsIdentifier},
		{"empty identifiers ignored", def, "zebra-42", []string{"", "  "}, ""},
		{"NUL", def, "zebra\x00-42-long", nil, ReasonInvalid},
		{"newline", def, "zebra-42\nlong", nil, ReasonInvalid},
		{"invalid utf8", def, "zebra-42\xff\xfe", nil, ReasonInvalid},
		{"zero policy still needs 8", Policy{}, "zebra-4", nil, ReasonTooShort},
		{"zero policy max is 128", Policy{}, runes(long64, 129), nil, ReasonTooLong},
		{"invalid policy clamped", Policy{MinLength: 2, MaxLength: 5}, "zebra-4", nil, ReasonTooShort},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.p.Check(tc.pw, tc.ids...)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("Check(%q) = %v, want nil", tc.pw, err)
				}
				return
			}
			var pe *PolicyError
			if !errors.As(err, &pe) {
				t.Fatalf("Check(%q) = %v (%T), want *PolicyError %s", tc.pw, err, err, tc.reason)
			}
			if pe.Reason != tc.reason || pe.Message == "" {
				t.Errorf("Check(%q) = %q / %q, want reason %s", tc.pw, pe.Reason, pe.Message, tc.reason)
			}
		})
	}
}

func TestPolicyMessages(t *testing.T) {
	for _, tc := range []struct {
		p    Policy
		pw   string
		want string
	}{
		{DefaultPolicy(), "short", "Use at least 8 characters."},
		{Policy{12, 64, true}, "shortish", "Use at least 12 characters."},
		{Policy{8, 64, true}, runes("", 65), "Use no more than 64 characters."},
	} {
		err := tc.p.Check(tc.pw)
		var pe *PolicyError
		if !errors.As(err, &pe) || pe.Message != tc.want {
			t.Errorf("Check(%q) = %v, want message %q", tc.pw, err, tc.want)
		}
	}
	e := &PolicyError{Reason: ReasonCommon, Message: "Pick another."}
	if got := e.Error(); got != "credential: password common: Pick another." {
		t.Errorf("Error() = %q", got)
	}
}

func TestPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		p     Policy
		field string // "" means valid
	}{
		{DefaultPolicy(), ""},
		{Policy{8, 64, false}, ""},
		{Policy{64, 64, true}, ""},
		{Policy{20, 1024, true}, ""},
		{Policy{7, 128, true}, "min_length"},
		{Policy{0, 128, true}, "min_length"},
		{Policy{8, 63, true}, "max_length"},
		{Policy{100, 99, true}, "max_length"},
		{Policy{8, 1025, true}, "max_length"},
		{Policy{}, "min_length"},
	} {
		err := tc.p.Validate()
		if tc.field == "" {
			if err != nil {
				t.Errorf("%+v: %v", tc.p, err)
			}
			continue
		}
		if !errors.Is(err, ErrInvalidPolicy) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%+v: err = %v, want ErrInvalidPolicy naming %s", tc.p, err, tc.field)
		}
	}
}

func TestDefaultPolicyJSON(t *testing.T) {
	b, err := json.Marshal(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"min_length":8,"max_length":128,"reject_common":true}`; got != want {
		t.Errorf("json = %s, want %s", got, want)
	}
}

func TestCommonList(t *testing.T) {
	set := commonPasswords()
	if len(set) < 400 {
		t.Errorf("common list has %d entries, want >= 400", len(set))
	}
	for _, w := range []string{"123456", "password", "qwerty", "iloveyou", "letmein",
		"welcome1", "passw0rd", "football", "monkey", "dragon", "admin123"} {
		if _, ok := set[w]; !ok {
			t.Errorf("%q missing from common list", w)
		}
	}
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#") {
			continue
		}
		if line == "" || line != strings.ToLower(strings.TrimSpace(line)) {
			t.Errorf("bad list line %q: want non-empty, lowercase, trimmed", line)
		}
	}
}
