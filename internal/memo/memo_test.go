package memo

import "testing"

// TestSet: added keys are there, others not; past Max it starts over.
func TestSet(t *testing.T) {
	var s Set[string]
	s.Max = 2
	if s.Has("a") {
		t.Fatal("empty set has a")
	}
	s.Add("a")
	s.Add("b")
	if !s.Has("a") || !s.Has("b") || s.Has("c") {
		t.Fatal("a and b added, c not")
	}
	s.Add("c")
	if s.Has("a") || !s.Has("c") {
		t.Error("past Max the set starts over with the new key")
	}
}
