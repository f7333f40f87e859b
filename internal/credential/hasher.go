package credential

import (
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
	"golang.org/x/text/unicode/norm"

	"github.com/gatehouse-id/gatehouse/internal/credential/argon2"
)

// ErrMalformedHash is returned (possibly wrapped; test with errors.Is) by
// Verify when the stored hash cannot be parsed: an unknown scheme, a bad
// version, bad base64, wrong lengths, or cost parameters outside the bounds
// of Params.Validate (or a bcrypt cost above 16).
var ErrMalformedHash = errors.New("credential: malformed password hash")

// ErrPasswordTooLong is returned by Hash for inputs longer than
// MaxPasswordBytes. Policy.Check refuses such passwords long before this.
var ErrPasswordTooLong = errors.New("credential: password too long to hash")

// MaxPasswordBytes bounds the input Hash accepts and Verify considers, so
// that hashing cost cannot be inflated by huge inputs.
const MaxPasswordBytes = 16 << 10

// maxBcryptCost bounds imported bcrypt hashes: cost 31 would take days.
const maxBcryptCost = 16

// Fixed inputs for VerifyDummy; their values are irrelevant.
var (
	dummySalt = make([]byte, saltLen)
	dummyKey  = make([]byte, keyLen)
)

// Hasher hashes and verifies passwords with argon2id. Create one with
// NewHasher; the zero value is not usable (Hash returns an error). A Hasher
// is safe for concurrent use, even with a non-thread-safe random source.
type Hasher struct {
	params Params
	mu     sync.Mutex // guards rand
	rand   io.Reader
}

// NewHasher returns a Hasher that hashes with p and draws salts from rand
// (crypto/rand.Reader when rand is nil). It returns an error wrapping
// ErrInvalidParams if p does not pass Params.Validate.
func NewHasher(p Params, rand io.Reader) (*Hasher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if rand == nil {
		rand = cryptoRand
	}
	retainAtLeast(p.MemoryKiB)
	return &Hasher{params: p, rand: rand}, nil
}

var cryptoRand = rand.Reader

// Params returns the parameters h uses for new hashes. It never fails.
func (h *Hasher) Params() Params { return h.params }

func normalize(password string) []byte { return []byte(norm.NFKC.String(password)) }

// Hash normalises password to NFKC and returns its argon2id PHC string,
// $argon2id$v=19$m=<KiB>,t=<iterations>,p=<lanes>$<salt>$<key>, with a fresh
// 16-byte salt and a 32-byte key. It fails only if h was not made by
// NewHasher, if password exceeds MaxPasswordBytes (ErrPasswordTooLong), or if
// reading the salt from the random source fails (the read error is wrapped).
// Hash does not apply any Policy; call Policy.Check first.
func (h *Hasher) Hash(password string) (string, error) {
	if h == nil || h.rand == nil {
		return "", errors.New("credential: Hasher not initialised; use NewHasher")
	}
	if len(password) > MaxPasswordBytes {
		return "", ErrPasswordTooLong
	}
	salt := make([]byte, saltLen)
	h.mu.Lock()
	_, err := io.ReadFull(h.rand, salt)
	h.mu.Unlock()
	if err != nil {
		return "", fmt.Errorf("credential: reading salt: %w", err)
	}
	p := h.params
	key := idKey(normalize(password), salt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	return encodePHC(p, salt, key), nil
}

// Verify reports whether password matches encoded, an argon2id PHC string
// (any valid parameters), a bcrypt hash with prefix $2a$, $2b$ or $2y$, or
// one of the imported schemes Scheme names (PBKDF2, scrypt, Firebase
// scrypt, argon2i, SHA-crypt, MD5-crypt, LDAP salted SHA, salted SHA-256).
// The key comparison runs in constant time.
//
// needsRehash is true only when ok is true and encoded is not an argon2id
// hash with h's current parameters, salt and key lengths; callers should
// then store the result of Hash(password).
//
// A wrong password yields ok == false and err == nil. err is non-nil only
// when encoded is malformed; it then wraps ErrMalformedHash and no hashing
// work is done. Verify never panics on any input. Passwords longer than
// MaxPasswordBytes never match.
func (h *Hasher) Verify(encoded, password string) (ok, needsRehash bool, err error) {
	switch {
	case strings.HasPrefix(encoded, "$argon2id$"):
		d, err := decodePHC(encoded)
		if err != nil {
			return false, false, err
		}
		if len(password) > MaxPasswordBytes {
			return false, false, nil
		}
		p := d.params
		key := idKey(normalize(password), d.salt, p.Iterations, p.MemoryKiB, p.Parallelism, uint32(len(d.key)))
		if subtle.ConstantTimeCompare(key, d.key) != 1 {
			return false, false, nil
		}
		current := p == h.params && len(d.salt) == saltLen && len(d.key) == keyLen
		return true, !current, nil
	case isBcrypt(encoded):
		ok, _, err = verifyBcrypt(encoded, password)
	default:
		s, found := findScheme(encoded)
		if !found {
			return false, false, malformed("unknown hash scheme")
		}
		ok, err = verifyForeign(s, encoded, password)
	}
	if !ok && err == nil {
		// Imported hashes can be far cheaper than argon2id ({SSHA} takes
		// microseconds, bcrypt at cost 4 about a millisecond): a failure
		// costs at least what one against an unknown account does.
		h.VerifyDummy(password)
	}
	return ok, ok, err
}

// VerifyDummy performs the same work as a failing Verify against an
// argon2id hash with h's current parameters, and discards the result. Call
// it when the account being logged into does not exist so that response
// time does not reveal whether it does. It never fails.
func (h *Hasher) VerifyDummy(password string) {
	if len(password) > MaxPasswordBytes {
		return
	}
	p := h.params
	if p.Validate() != nil {
		p = DefaultParams
	}
	key := idKey(normalize(password), dummySalt, p.Iterations, p.MemoryKiB, p.Parallelism, keyLen)
	subtle.ConstantTimeCompare(key, dummyKey)
}

// isBcrypt reports whether s has a bcrypt prefix this package accepts.
func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

// verifyBcrypt checks an imported bcrypt hash. The structure is validated
// here so that bcrypt never sees malformed input. Because the importing
// system may or may not have normalised passwords, the raw password is tried
// first and then its NFKC form if that differs. A match always needs rehash.
func verifyBcrypt(encoded, password string) (ok, needsRehash bool, err error) {
	if err := checkBcrypt(encoded); err != nil {
		return false, false, err
	}
	if len(password) > MaxPasswordBytes {
		return false, false, nil
	}
	candidates := []string{password}
	if n := norm.NFKC.String(password); n != password {
		candidates = append(candidates, n)
	}
	for _, c := range candidates {
		switch err := bcrypt.CompareHashAndPassword([]byte(encoded), []byte(c)); {
		case err == nil:
			return true, true, nil
		case !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword):
			return false, false, malformed("bcrypt: " + err.Error())
		}
	}
	return false, false, nil
}

// checkBcrypt validates an imported bcrypt hash's structure and cost.
func checkBcrypt(encoded string) error {
	// $2b$NN$ + 22 salt chars + 31 hash chars.
	if len(encoded) != 60 || encoded[6] != '$' {
		return malformed("bad bcrypt hash length")
	}
	cost := 0
	for _, c := range encoded[4:6] {
		if c < '0' || c > '9' {
			return malformed("bad bcrypt cost")
		}
		cost = cost*10 + int(c-'0')
	}
	if cost < bcrypt.MinCost || cost > maxBcryptCost {
		return malformed("bcrypt cost out of range")
	}
	for _, c := range encoded[7:] {
		if !(c == '.' || c == '/' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') {
			return malformed("bad bcrypt base64")
		}
	}
	return nil
}

// hashSlots bounds how many argon2 computations run at once, and holds
// each slot's working memory between them. Each computation holds
// MemoryKiB of memory for its whole run; unbounded, a burst of logins would
// grow memory with the burst (19 MiB each at the defaults) and every hash
// would finish later. Past the bound, callers wait their turn. A slot keeps
// its blocks for the next computation (see retainKiB), so a hash at the
// usual parameters allocates a few KiB, not its memory cost, and leaves
// no garbage for the collector.
var hashSlots = newSlots(max(2, runtime.GOMAXPROCS(0)))

func newSlots(n int) chan *argon2.Memory {
	c := make(chan *argon2.Memory, n)
	for range n {
		c <- new(argon2.Memory)
	}
	return c
}

// retainKiB is the largest memory cost whose blocks a slot keeps after a
// computation: the largest of DefaultParams and the parameters of every
// Hasher made (NewHasher raises it). Blocks of a larger cost, from a
// stored hash made elsewhere with more memory, are dropped after use, so
// one such login does not pin them in every slot.
var retainKiB atomic.Uint32

func init() { retainAtLeast(DefaultParams.MemoryKiB) }

// retainAtLeast raises retainKiB to kib.
func retainAtLeast(kib uint32) {
	for {
		cur := retainKiB.Load()
		if kib <= cur || retainKiB.CompareAndSwap(cur, kib) {
			return
		}
	}
}

// hashing counts computations in progress, idKeyRuns those begun (read
// by tests).
var (
	hashing   atomic.Int32
	idKeyRuns atomic.Int64
	// waiting counts computations queued for a slot.
	waiting atomic.Int32
)

// HashLoad answers the password-hash computations (argon2id, and the
// imported schemes) running and those waiting for a slot, for the metrics.
func HashLoad() (inFlight, queued int) { return int(hashing.Load()), int(waiting.Load()) }

// takeSlot waits for a free hash slot and answers its working memory;
// giveSlot hands it back.
func takeSlot() *argon2.Memory {
	waiting.Add(1)
	m := <-hashSlots
	waiting.Add(-1)
	hashing.Add(1)
	return m
}

// giveSlot returns a slot taken by takeSlot, its blocks dropped first if
// they are larger than retainKiB, or if they are in the Go heap (no
// mapping on this system, or it failed): kept there, every slot's blocks
// would count against the runtime's memory limit for good.
func giveSlot(m *argon2.Memory) {
	if m.Size() > int(retainKiB.Load())<<10 || !m.Mapped() {
		m.Release()
	}
	hashing.Add(-1)
	hashSlots <- m
}

func idKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	m := takeSlot()
	defer giveSlot(m)
	idKeyRuns.Add(1)
	return m.IDKey(password, salt, time, memory, threads, keyLen)
}
