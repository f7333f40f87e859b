package credential

import (
	"crypto/md5"
	"hash"
	"strconv"
	"strings"
)

// The crypt(3) formats of glibc, implemented from Ulrich Drepper's
// "Unix crypt using SHA-256 and SHA-512" specification and the FreeBSD
// MD5-crypt algorithm it follows in shape.

const (
	cryptAlphabet      = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	shaCryptDefRounds  = 5000
	shaCryptMinRounds  = 1000
	shaCryptMaxRounds  = 1_000_000 // the spec allows 999,999,999: far too slow for a login
	shaCryptMaxSaltLen = 16
)

// Byte orders of the final encoding, three bytes per four characters.
var (
	sha512Order = [][3]int{{0, 21, 42}, {22, 43, 1}, {44, 2, 23}, {3, 24, 45}, {25, 46, 4}, {47, 5, 26}, {6, 27, 48}, {28, 49, 7}, {50, 8, 29}, {9, 30, 51}, {31, 52, 10}, {53, 11, 32}, {12, 33, 54}, {34, 55, 13}, {56, 14, 35}, {15, 36, 57}, {37, 58, 16}, {59, 17, 38}, {18, 39, 60}, {40, 61, 19}, {62, 20, 41}}
	sha256Order = [][3]int{{0, 10, 20}, {21, 1, 11}, {12, 22, 2}, {3, 13, 23}, {24, 4, 14}, {15, 25, 5}, {6, 16, 26}, {27, 7, 17}, {18, 28, 8}, {9, 19, 29}}
	md5Order    = [][3]int{{0, 6, 12}, {1, 7, 13}, {2, 8, 14}, {3, 9, 15}, {4, 10, 5}}
)

// b64From24 appends n characters encoding the 24-bit value b2<<16|b1<<8|b0,
// least significant six bits first.
func b64From24(sb *strings.Builder, b2, b1, b0 byte, n int) {
	w := uint(b2)<<16 | uint(b1)<<8 | uint(b0)
	for range n {
		sb.WriteByte(cryptAlphabet[w&0x3f])
		w >>= 6
	}
}

// repeatTo answers len bytes of block repeated.
func repeatTo(block []byte, n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		out = append(out, block[:min(len(block), n-len(out))]...)
	}
	return out
}

// shaCryptVerifier checks $5$ / $6$ hashes: $id$[rounds=N$]salt$digest.
func shaCryptVerifier(newHash func() hash.Hash, size int) func(string, []byte) (bool, error) {
	order, tail := sha512Order, func(sb *strings.Builder, d []byte) { b64From24(sb, 0, 0, d[63], 2) }
	if size == 32 {
		order, tail = sha256Order, func(sb *strings.Builder, d []byte) { b64From24(sb, 0, d[31], d[30], 3) }
	}
	return func(encoded string, password []byte) (bool, error) {
		parts := strings.Split(encoded, "$")
		var roundsField string
		if len(parts) == 5 {
			roundsField = parts[2]
			parts = []string{parts[0], parts[1], parts[3], parts[4]}
		}
		if len(parts) != 4 || parts[0] != "" {
			return false, malformed("bad sha-crypt hash")
		}
		rounds := shaCryptDefRounds
		if roundsField != "" {
			v, ok := strings.CutPrefix(roundsField, "rounds=")
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n < 1 || n > shaCryptMaxRounds {
				return false, malformed("sha-crypt rounds out of range")
			}
			rounds = max(n, shaCryptMinRounds)
		}
		salt := parts[2]
		if len(salt) > shaCryptMaxSaltLen {
			salt = salt[:shaCryptMaxSaltLen]
		}
		if len(parts[3]) != (size*8+5)/6 {
			return false, malformed("bad sha-crypt digest length")
		}
		if password == nil {
			return false, nil
		}
		d := shaCrypt(newHash, password, []byte(salt), rounds)
		var sb strings.Builder
		for _, o := range order {
			b64From24(&sb, d[o[0]], d[o[1]], d[o[2]], 4)
		}
		tail(&sb, d)
		return eq([]byte(sb.String()), []byte(parts[3])), nil
	}
}

// shaCrypt is the digest of Drepper's algorithm, before encoding.
func shaCrypt(newHash func() hash.Hash, p, s []byte, rounds int) []byte {
	sum := func(parts ...[]byte) []byte {
		h := newHash()
		for _, x := range parts {
			h.Write(x)
		}
		return h.Sum(nil)
	}
	b := sum(p, s, p)
	a := newHash()
	a.Write(p)
	a.Write(s)
	a.Write(repeatTo(b, len(p)))
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			a.Write(b)
		} else {
			a.Write(p)
		}
	}
	digest := a.Sum(nil)

	dp := newHash()
	for range len(p) {
		dp.Write(p)
	}
	pSeq := repeatTo(dp.Sum(nil), len(p))
	ds := newHash()
	for range 16 + int(digest[0]) {
		ds.Write(s)
	}
	sSeq := repeatTo(ds.Sum(nil), len(s))

	return cryptRounds(newHash(), rounds, digest, pSeq, sSeq)
}

// cryptRounds is the stretching loop both algorithms share: each round
// hashes the previous digest with the password and salt in an order the
// round number picks.
func cryptRounds(h hash.Hash, rounds int, digest, p, s []byte) []byte {
	for i := range rounds {
		h.Reset()
		if i&1 != 0 {
			h.Write(p)
		} else {
			h.Write(digest)
		}
		if i%3 != 0 {
			h.Write(s)
		}
		if i%7 != 0 {
			h.Write(p)
		}
		if i&1 != 0 {
			h.Write(digest)
		} else {
			h.Write(p)
		}
		digest = h.Sum(digest[:0])
	}
	return digest
}

// verifyMD5Crypt checks $1$salt$digest (salt at most 8 characters).
func verifyMD5Crypt(encoded string, password []byte) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 4 || parts[0] != "" || len(parts[2]) > 8 || len(parts[3]) != 22 {
		return false, malformed("bad md5-crypt hash")
	}
	if password == nil {
		return false, nil
	}
	p, s := password, []byte(parts[2])
	alt := md5.Sum(append(append(append([]byte{}, p...), s...), p...))
	ctx := md5.New()
	ctx.Write(p)
	ctx.Write([]byte("$1$"))
	ctx.Write(s)
	ctx.Write(repeatTo(alt[:], len(p)))
	for n := len(p); n > 0; n >>= 1 {
		if n&1 != 0 {
			ctx.Write([]byte{0})
		} else {
			ctx.Write(p[:1])
		}
	}
	final := cryptRounds(md5.New(), 1000, ctx.Sum(nil), p, s)
	var sb strings.Builder
	for _, o := range md5Order {
		b64From24(&sb, final[o[0]], final[o[1]], final[o[2]], 4)
	}
	b64From24(&sb, 0, 0, final[11], 2)
	return eq([]byte(sb.String()), []byte(parts[3])), nil
}
