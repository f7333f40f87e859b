package whsig

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// The Standard Webhooks specification's published example: secret, id,
// timestamp and body give exactly this signature.
func TestSpecificationVector(t *testing.T) {
	secret := "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	body := []byte(`{"test": 2432232314}`)
	ts := time.Unix(1614265330, 0)
	got, err := Sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", ts, body)
	if err != nil {
		t.Fatal(err)
	}
	const want = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
	if got != want {
		t.Fatalf("signature %q, want %q", got, want)
	}
	if err := Verify(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,bm9wZQ== "+got, body, ts.Add(time.Minute)); err != nil {
		t.Fatalf("verify: %v", err)
	}
}

func TestVerifyRefuses(t *testing.T) {
	secret, err := NewSecret(bytes.NewReader(bytes.Repeat([]byte{7}, 32)))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewSecret(bytes.NewReader(bytes.Repeat([]byte{8}, 32)))
	now := time.Unix(1_800_000_000, 0)
	h, err := Headers([]string{secret}, "evt_1", now, []byte("{}"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name             string
		secret, id, body string
		at               time.Time
		want             error
	}{
		{"other secret", other, "evt_1", "{}", now, ErrBadSignature},
		{"other id", secret, "evt_2", "{}", now, ErrBadSignature},
		{"other body", secret, "evt_1", "{ }", now, ErrBadSignature},
		{"stale", secret, "evt_1", "{}", now.Add(6 * time.Minute), ErrStale},
		{"future", secret, "evt_1", "{}", now.Add(-6 * time.Minute), ErrStale},
		{"bad secret", "nope", "evt_1", "{}", now, ErrBadSecret},
	}
	for _, c := range cases {
		err := Verify(c.secret, c.id, h[HeaderTimestamp], h[HeaderSignature], []byte(c.body), c.at)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if err := Verify(secret, "evt_1", h[HeaderTimestamp], h[HeaderSignature], []byte("{}"), now); err != nil {
		t.Fatalf("good message refused: %v", err)
	}
}

func TestRotationSignsWithBoth(t *testing.T) {
	a, _ := NewRandomSecret()
	b, _ := NewRandomSecret()
	now := time.Now()
	sig, err := SignAll([]string{a, b}, "id", now, []byte("x"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{a, b} {
		if err := Verify(s, "id", itoa(now), sig, []byte("x"), now); err != nil {
			t.Fatalf("secret of a rotation refused: %v", err)
		}
	}
}

func itoa(t time.Time) string {
	h, _ := Headers([]string{"whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}, "i", t, nil)
	return h[HeaderTimestamp]
}
