package credential

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/gatehouse-id/gatehouse/internal/credential/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	// MemoryKiB is the memory cost in KiB (argon2 "m").
	MemoryKiB uint32
	// Iterations is the number of passes over memory (argon2 "t").
	Iterations uint32
	// Parallelism is the number of lanes (argon2 "p").
	Parallelism uint8
}

// DefaultParams are the OWASP-recommended argon2id parameters
// (19 MiB, 2 iterations, 1 lane).
var DefaultParams = Params{MemoryKiB: 19456, Iterations: 2, Parallelism: 1}

// Bounds enforced by Params.Validate. They apply both to a Hasher's own
// parameters and to parameters parsed from stored hashes, so that a corrupt
// or hostile hash string cannot make Verify allocate unbounded memory.
const (
	maxMemoryKiB   = 4 << 20 // 4 GiB
	maxIterations  = 100
	maxParallelism = 64

	saltLen       = 16
	keyLen        = 32
	minSaltLen    = 8
	maxSaltLen    = 64
	minKeyLen     = 16
	maxKeyLen     = 64
	maxEncodedLen = 512
)

// ErrInvalidParams is wrapped by the error Params.Validate returns.
var ErrInvalidParams = errors.New("credential: invalid argon2id parameters")

// Validate reports whether p is usable. It returns nil, or an error wrapping
// ErrInvalidParams whose text names the offending field: Parallelism must be
// 1..64, Iterations 1..100, and MemoryKiB at least 8*Parallelism and at most
// 4 GiB (4194304 KiB).
func (p Params) Validate() error {
	switch {
	case p.Parallelism < 1 || p.Parallelism > maxParallelism:
		return fmt.Errorf("%w: Parallelism must be between 1 and %d, got %d",
			ErrInvalidParams, maxParallelism, p.Parallelism)
	case p.Iterations < 1 || p.Iterations > maxIterations:
		return fmt.Errorf("%w: Iterations must be between 1 and %d, got %d",
			ErrInvalidParams, maxIterations, p.Iterations)
	case uint64(p.MemoryKiB) < 8*uint64(p.Parallelism):
		return fmt.Errorf("%w: MemoryKiB must be at least 8*Parallelism (%d), got %d",
			ErrInvalidParams, 8*uint64(p.Parallelism), p.MemoryKiB)
	case p.MemoryKiB > maxMemoryKiB:
		return fmt.Errorf("%w: MemoryKiB must be at most %d (4 GiB), got %d",
			ErrInvalidParams, maxMemoryKiB, p.MemoryKiB)
	}
	return nil
}

// phc is a decoded argon2id PHC string.
type phc struct {
	params    Params
	salt, key []byte
}

var b64 = base64.RawStdEncoding.Strict()

func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		p.MemoryKiB, p.Iterations, p.Parallelism,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func malformed(why string) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, why)
}

// decodePHC parses an argon2id PHC string strictly. Every failure wraps
// ErrMalformedHash. Parameters are validated before anything is allocated
// for hashing.
func decodePHC(s string) (phc, error) { return decodeArgon2(s, "argon2id") }

// decodeArgon2 parses an argon2 PHC string of the given variant ("argon2id"
// or "argon2i") with the bounds of decodePHC.
func decodeArgon2(s, variant string) (phc, error) {
	if len(s) > maxEncodedLen {
		return phc{}, malformed("encoded hash too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != variant {
		return phc{}, malformed("not an " + variant + " PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return phc{}, malformed("unsupported argon2 version")
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return phc{}, malformed("want parameters m,t,p")
	}
	m, err1 := parseParam(fields[0], "m", 32)
	t, err2 := parseParam(fields[1], "t", 32)
	p, err3 := parseParam(fields[2], "p", 8)
	if err := errors.Join(err1, err2, err3); err != nil {
		return phc{}, err
	}
	params := Params{MemoryKiB: uint32(m), Iterations: uint32(t), Parallelism: uint8(p)}
	if err := params.Validate(); err != nil {
		return phc{}, malformed(err.Error())
	}
	salt, err := b64.DecodeString(parts[4])
	if err != nil || len(salt) < minSaltLen || len(salt) > maxSaltLen {
		return phc{}, malformed("bad salt")
	}
	key, err := b64.DecodeString(parts[5])
	if err != nil || len(key) < minKeyLen || len(key) > maxKeyLen {
		return phc{}, malformed("bad key")
	}
	return phc{params: params, salt: salt, key: key}, nil
}

// parseParam parses "name=decimal" with no sign and no leading zeros.
func parseParam(kv, name string, bits int) (uint64, error) {
	v, ok := strings.CutPrefix(kv, name+"=")
	if !ok || v == "" || (len(v) > 1 && v[0] == '0') {
		return 0, malformed("bad parameter " + strconv.Quote(name))
	}
	n, err := strconv.ParseUint(v, 10, bits)
	if err != nil {
		return 0, malformed("parameter " + strconv.Quote(name) + " out of range")
	}
	return n, nil
}
