package credential

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"hash"
	"strconv"
	"strings"

	"golang.org/x/crypto/scrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-id/gatehouse/internal/credential/argon2"
)

// Bounds on imported hashes. A stored hash is data another system wrote;
// parameters past these would let one row cost seconds of CPU or hundreds
// of MiB per login attempt, so such a hash is refused as malformed.
const (
	maxPBKDF2Iterations = 2_000_000
	maxScryptMemory     = 256 << 20 // bytes: 128 * r * N
	maxScryptP          = 16
	maxScryptR          = 32
	maxForeignSaltLen   = 256
	maxForeignKeyLen    = 128
)

// scheme is one foreign hash format Verify accepts: a match always needs a
// rehash to argon2id.
type scheme struct {
	name string
	// weak schemes are accepted to migrate, and flagged in summaries.
	weak  bool
	match func(encoded string) bool
	// verify checks password against encoded; a nil password means
	// "parse only" (see verifyForeign). m is the working memory of the
	// hash slot the caller holds (nil when parsing only).
	verify func(m *argon2.Memory, encoded string, password []byte) (bool, error)
}

// plain adapts a verifier that needs no argon2 working memory.
func plain(f func(encoded string, password []byte) (bool, error)) func(*argon2.Memory, string, []byte) (bool, error) {
	return func(_ *argon2.Memory, encoded string, password []byte) (bool, error) { return f(encoded, password) }
}

func prefix(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}

// schemes lists the foreign formats in matching order.
var schemes = []scheme{
	{name: "argon2i", match: prefix("$argon2i$"), verify: verifyArgon2i},
	{name: "pbkdf2-sha1", match: prefix("$pbkdf2$"), verify: plain(phcPBKDF2(sha1.New))},
	{name: "pbkdf2-sha256", match: prefix("$pbkdf2-sha256$"), verify: plain(phcPBKDF2(sha256.New))},
	{name: "pbkdf2-sha512", match: prefix("$pbkdf2-sha512$"), verify: plain(phcPBKDF2(sha512.New))},
	{name: "pbkdf2-sha1", match: prefix("pbkdf2_sha1$"), verify: plain(djangoPBKDF2(sha1.New))},
	{name: "pbkdf2-sha256", match: prefix("pbkdf2_sha256$"), verify: plain(djangoPBKDF2(sha256.New))},
	{name: "scrypt", match: prefix("$scrypt$"), verify: plain(verifyScrypt)},
	{name: "firebase-scrypt", match: prefix("$firebase-scrypt$"), verify: plain(verifyFirebase)},
	{name: "sha512-crypt", match: prefix("$6$"), verify: plain(shaCryptVerifier(sha512.New, 64))},
	{name: "sha256-crypt", match: prefix("$5$"), verify: plain(shaCryptVerifier(sha256.New, 32))},
	{name: "md5-crypt", weak: true, match: prefix("$1$"), verify: plain(verifyMD5Crypt)},
	{name: "ssha", weak: true, match: prefix("{SSHA}"), verify: plain(ldapSalted("{SSHA}", sha1.New))},
	{name: "ssha512", weak: true, match: prefix("{SSHA512}"), verify: plain(ldapSalted("{SSHA512}", sha512.New))},
	{name: "salted-sha256", weak: true, match: prefix("$salted-sha256$"), verify: plain(verifySaltedSHA256)},
}

// Scheme names the format of an encoded hash as the credentials summary
// counts it: "argon2id", "bcrypt", one of the foreign schemes
// ("pbkdf2-sha256", "sha512-crypt", ...), or "unknown". It does not
// validate the hash.
func Scheme(encoded string) string {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		return "argon2id"
	case isBcrypt(encoded):
		return "bcrypt"
	}
	if s, ok := findScheme(encoded); ok {
		return s.name
	}
	return "unknown"
}

// Weak reports whether the scheme named by Scheme is accepted only to be
// migrated away from (unsalted or fast digests, MD5): operators should
// see such accounts move to argon2id quickly.
func Weak(name string) bool {
	for _, s := range schemes {
		if s.name == name {
			return s.weak
		}
	}
	return false
}

func findScheme(encoded string) (scheme, bool) {
	for _, s := range schemes {
		if s.match(encoded) {
			return s, true
		}
	}
	return scheme{}, false
}

// verifyForeign checks password against a hash of a foreign scheme. The
// importing system may or may not have normalised passwords, so the raw
// password is tried and then its NFKC form when that differs.
func verifyForeign(s scheme, encoded, password string) (bool, error) {
	if len(encoded) > 4*maxEncodedLen {
		return false, malformed("encoded hash too long")
	}
	if len(password) > MaxPasswordBytes {
		// Parse anyway so a malformed hash is reported the same way.
		_, err := s.verify(nil, encoded, nil)
		return false, err
	}
	m := takeSlot()
	defer giveSlot(m)
	ok, err := s.verify(m, encoded, []byte(password))
	if err != nil || ok {
		return ok, err
	}
	if n := norm.NFKC.String(password); n != password {
		return s.verify(m, encoded, []byte(n))
	}
	return false, nil
}

// eq compares a computed key with a stored one in constant time. nil
// password means "parse only" (see verifyForeign): it never matches.
func eq(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// decodeB64 accepts standard base64 with or without padding, and passlib's
// "adapted" alphabet that writes '.' for '+'.
func decodeB64(s string) ([]byte, error) {
	s = strings.TrimRight(strings.ReplaceAll(s, ".", "+"), "=")
	return base64.RawStdEncoding.DecodeString(s)
}

func verifyArgon2i(m *argon2.Memory, encoded string, password []byte) (bool, error) {
	d, err := decodeArgon2(encoded, "argon2i")
	if err != nil || password == nil {
		return false, err
	}
	p := d.params
	key := m.Key(password, d.salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(d.key)))
	return eq(key, d.key), nil
}

// phcPBKDF2 verifies passlib's $pbkdf2[-sha256|-sha512]$rounds$salt$key
// and the PHC form $pbkdf2-sha256$i=rounds[,l=len]$salt$key.
func phcPBKDF2(h func() hash.Hash) func(string, []byte) (bool, error) {
	return func(encoded string, password []byte) (bool, error) {
		parts := strings.Split(encoded, "$")
		if len(parts) != 5 || parts[0] != "" {
			return false, malformed("bad pbkdf2 hash")
		}
		rounds := parts[2]
		if strings.HasPrefix(rounds, "i=") {
			rounds, _, _ = strings.Cut(rounds[2:], ",")
		}
		salt, err1 := decodeB64(parts[3])
		key, err2 := decodeB64(parts[4])
		if err1 != nil || err2 != nil {
			return false, malformed("bad pbkdf2 base64")
		}
		return pbkdf2Check(h, password, rounds, salt, key)
	}
}

// djangoPBKDF2 verifies Django's pbkdf2_sha256$rounds$salt$base64key, whose
// salt is used as the text it is.
func djangoPBKDF2(h func() hash.Hash) func(string, []byte) (bool, error) {
	return func(encoded string, password []byte) (bool, error) {
		parts := strings.Split(encoded, "$")
		if len(parts) != 4 {
			return false, malformed("bad django pbkdf2 hash")
		}
		key, err := base64.StdEncoding.DecodeString(parts[3])
		if err != nil {
			return false, malformed("bad pbkdf2 base64")
		}
		return pbkdf2Check(h, password, parts[1], []byte(parts[2]), key)
	}
}

func pbkdf2Check(h func() hash.Hash, password []byte, rounds string, salt, key []byte) (bool, error) {
	n, err := strconv.Atoi(rounds)
	switch {
	case err != nil || n < 1 || n > maxPBKDF2Iterations:
		return false, malformed("pbkdf2 rounds out of range")
	case len(salt) > maxForeignSaltLen, len(key) < minKeyLen, len(key) > maxForeignKeyLen:
		return false, malformed("bad pbkdf2 salt or key length")
	case password == nil:
		return false, nil
	}
	got, err := pbkdf2.Key(h, string(password), salt, n, len(key))
	if err != nil {
		return false, malformed("pbkdf2: " + err.Error())
	}
	return eq(got, key), nil
}

// scryptParams parses "ln=14,r=8,p=1" and checks the cost bounds.
func scryptParams(s string) (n, r, p int, err error) {
	f := strings.Split(s, ",")
	if len(f) != 3 {
		return 0, 0, 0, malformed("want scrypt parameters ln,r,p")
	}
	ln, err1 := parseParam(f[0], "ln", 8)
	rr, err2 := parseParam(f[1], "r", 16)
	pp, err3 := parseParam(f[2], "p", 16)
	if err1 != nil || err2 != nil || err3 != nil {
		return 0, 0, 0, malformed("bad scrypt parameters")
	}
	if ln < 1 || ln > 24 || rr < 1 || rr > maxScryptR || pp < 1 || pp > maxScryptP ||
		128*rr<<ln > maxScryptMemory {
		return 0, 0, 0, malformed("scrypt parameters out of range")
	}
	return 1 << ln, int(rr), int(pp), nil
}

// verifyScrypt checks passlib's $scrypt$ln=..,r=..,p=..$salt$key.
func verifyScrypt(encoded string, password []byte) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "" {
		return false, malformed("bad scrypt hash")
	}
	n, r, p, err := scryptParams(parts[2])
	if err != nil {
		return false, err
	}
	salt, err1 := decodeB64(parts[3])
	key, err2 := decodeB64(parts[4])
	if err1 != nil || err2 != nil || len(salt) > maxForeignSaltLen || len(key) < minKeyLen || len(key) > maxForeignKeyLen {
		return false, malformed("bad scrypt salt or key")
	}
	if password == nil {
		return false, nil
	}
	got, err := scrypt.Key(password, salt, n, r, p, len(key))
	if err != nil {
		return false, malformed("scrypt: " + err.Error())
	}
	return eq(got, key), nil
}

// FirebaseHash builds the stored form of a Firebase Authentication
// password hash from an auth:export record (passwordHash, salt) and the
// project's hash parameters (base64 signer key and salt separator, rounds,
// mem cost). The result is
//
//	$firebase-scrypt$ln=<mem cost>,r=<rounds>,p=1$<salt separator>$<signer key>$<salt>$<hash>
//
// with every binary field in unpadded standard base64. It fails when any
// part does not decode or the parameters are outside the scrypt bounds.
func FirebaseHash(signerKey, saltSeparator string, rounds, memCost int, salt, passwordHash string) (string, error) {
	enc := base64.RawStdEncoding
	fields := []string{signerKey, saltSeparator, salt, passwordHash}
	raw := make([][]byte, len(fields))
	for i, f := range fields {
		b, err := decodeB64(f)
		if err != nil {
			return "", malformed("bad firebase base64")
		}
		raw[i] = b
	}
	out := "$firebase-scrypt$ln=" + strconv.Itoa(memCost) + ",r=" + strconv.Itoa(rounds) + ",p=1$" +
		enc.EncodeToString(raw[1]) + "$" + enc.EncodeToString(raw[0]) + "$" + enc.EncodeToString(raw[2]) + "$" + enc.EncodeToString(raw[3])
	if _, err := verifyFirebase(out, nil); err != nil {
		return "", err
	}
	return out, nil
}

// verifyFirebase checks Firebase's modified scrypt: the scrypt key of the
// password with salt||separator (N = 2^mem cost, r = rounds, p = 1, 32
// bytes) is used as an AES-256-CTR key (zero IV) to encrypt the project's
// signer key; the result is the stored hash.
func verifyFirebase(encoded string, password []byte) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 7 || parts[0] != "" {
		return false, malformed("bad firebase-scrypt hash")
	}
	n, r, p, err := scryptParams(parts[2])
	if err != nil {
		return false, err
	}
	var raw [4][]byte
	for i := range raw {
		if raw[i], err = decodeB64(parts[3+i]); err != nil || len(raw[i]) > maxForeignKeyLen {
			return false, malformed("bad firebase-scrypt field")
		}
	}
	sep, signer, salt, want := raw[0], raw[1], raw[2], raw[3]
	if len(signer) == 0 || len(want) != len(signer) {
		return false, malformed("bad firebase-scrypt key length")
	}
	if password == nil {
		return false, nil
	}
	dk, err := scrypt.Key(password, append(append([]byte{}, salt...), sep...), n, r, p, 32)
	if err != nil {
		return false, malformed("scrypt: " + err.Error())
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		return false, malformed("aes: " + err.Error())
	}
	got := make([]byte, len(signer))
	cipher.NewCTR(block, make([]byte, aes.BlockSize)).XORKeyStream(got, signer)
	return eq(got, want), nil
}

// ldapSalted checks RFC 2307-style {SSHA}base64(digest||salt).
func ldapSalted(tag string, h func() hash.Hash) func(string, []byte) (bool, error) {
	size := h().Size()
	return func(encoded string, password []byte) (bool, error) {
		raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(encoded, tag))
		if err != nil || len(raw) <= size || len(raw) > size+maxForeignSaltLen {
			return false, malformed("bad " + tag + " hash")
		}
		if password == nil {
			return false, nil
		}
		d := h()
		d.Write(password)
		d.Write(raw[size:])
		return eq(d.Sum(nil), raw[:size]), nil
	}
}

// verifySaltedSHA256 checks the documented form for home-grown tables:
//
//	$salted-sha256$o=sp$<salt>$<digest>   digest = SHA-256(salt || password)
//	$salted-sha256$o=ps$<salt>$<digest>   digest = SHA-256(password || salt)
//
// with salt and digest in base64 (standard, padding optional).
func verifySaltedSHA256(encoded string, password []byte) (bool, error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 5 || parts[0] != "" || parts[2] != "o=sp" && parts[2] != "o=ps" {
		return false, malformed("bad salted-sha256 hash")
	}
	salt, err1 := decodeB64(parts[3])
	want, err2 := decodeB64(parts[4])
	if err1 != nil || err2 != nil || len(salt) > maxForeignSaltLen || len(want) != sha256.Size {
		return false, malformed("bad salted-sha256 salt or digest")
	}
	if password == nil {
		return false, nil
	}
	d := sha256.New()
	if parts[2] == "o=sp" {
		d.Write(salt)
		d.Write(password)
	} else {
		d.Write(password)
		d.Write(salt)
	}
	return eq(d.Sum(nil), want), nil
}

// ValidateHash reports whether encoded is a hash Verify can check, without
// hashing anything: an import stores hashes as they come and refuses only
// those no login could ever match. The error wraps ErrMalformedHash.
func ValidateHash(encoded string) error {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		_, err := decodePHC(encoded)
		return err
	case isBcrypt(encoded):
		return checkBcrypt(encoded)
	}
	s, ok := findScheme(encoded)
	if !ok {
		return malformed("unknown hash scheme")
	}
	_, err := s.verify(nil, encoded, nil)
	return err
}
