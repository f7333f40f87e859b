package httpx

import "testing"

// TestDuplicateName: names repeated in one object are found at any depth;
// the same name in different objects, or as a value, is not a repeat.
func TestDuplicateName(t *testing.T) {
	for body, want := range map[string]string{
		`{"a":1,"b":2}`:                        "",
		`{"a":"a","b":["a","a"]}`:              "",
		`{"a":{"a":1},"b":{"a":2}}`:            "",
		`[{"a":1},{"a":2}]`:                    "",
		`{"a":1,"a":1}`:                        "a",
		`{"x":[1,{"b":[],"b":{}}]}`:            "b",
		`{"a":{"c":1},"b":[{"d":2}],"b":null}`: "b",
		`{"a":1,"A":2}`:                        "",
		`{"a":`:                                "",
	} {
		got, ok := duplicateName([]byte(body))
		if got != want || ok != (want != "") {
			t.Errorf("duplicateName(%s) = %q, %v; want %q", body, got, ok, want)
		}
	}
}
