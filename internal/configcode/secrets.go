package configcode

import (
	"fmt"
	"regexp"
	"strings"
)

// refRE is a secret reference: ${env:NAME} or ${file:/absolute/path}.
var refRE = regexp.MustCompile(`^\$\{(env:[A-Za-z_][A-Za-z0-9_]{0,127}|file:/[^}\x00]{1,1000})\}$`)

// IsReference reports whether s is a secret reference.
func IsReference(s string) bool { return refRE.MatchString(s) }

// maxSecretBytes bounds a secret read from a file.
const maxSecretBytes = 8192

// Resolver reads the values secret references point at.
type Resolver struct {
	// LookupEnv answers an environment variable (os.LookupEnv).
	LookupEnv func(string) (string, bool)
	// ReadFile reads a file (os.ReadFile, bounded by the caller); nil
	// refuses ${file:...} references (the API does: the server's files are
	// not the caller's to name).
	ReadFile func(string) ([]byte, error)
}

// Resolve answers the secret ref points at. The error names the
// reference, never a value.
func (r Resolver) Resolve(ref string) (string, error) {
	m := refRE.FindStringSubmatch(ref)
	if m == nil {
		return "", fmt.Errorf("%q is not a reference", ref)
	}
	src, name, _ := strings.Cut(m[1], ":")
	switch src {
	case "env":
		if r.LookupEnv == nil {
			return "", fmt.Errorf("%s: environment references cannot be resolved here", ref)
		}
		v, ok := r.LookupEnv(name)
		if !ok || v == "" {
			return "", fmt.Errorf("%s: the environment variable is not set", ref)
		}
		return v, nil
	default:
		if r.ReadFile == nil {
			return "", fmt.Errorf("%s: file references cannot be resolved here", ref)
		}
		b, err := r.ReadFile(name)
		if err != nil {
			return "", fmt.Errorf("%s: the file cannot be read", ref)
		}
		if len(b) > maxSecretBytes {
			return "", fmt.Errorf("%s: the file holds more than %d bytes", ref, maxSecretBytes)
		}
		v := strings.TrimRight(string(b), "\r\n")
		if v == "" {
			return "", fmt.Errorf("%s: the file is empty", ref)
		}
		return v, nil
	}
}
