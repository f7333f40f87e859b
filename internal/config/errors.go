package config

import "strings"

// Sources reported in [Problem.Source] for values that did not come from the
// config file. Problems about the config file use the file's path, followed
// by ":LINE" when the line is known.
const (
	SourceDefault = "default"
	SourceEnv     = "env"
	SourceFlag    = "flag"
)

// Problem is one invalid setting or one defect in the config file.
type Problem struct {
	// Key names the setting as the user gave it: the environment variable
	// (GATEHOUSE_ADDR), the flag with its dashes (--addr) or the YAML key
	// path (argon2.memory_kib). It is empty for problems with the file as a
	// whole, such as a YAML syntax error.
	Key string
	// Source is SourceEnv, SourceFlag, SourceDefault, or the config file's
	// path (with ":LINE" when known).
	Source string
	// Message says what is wrong. It never contains a secret's value.
	Message string
}

// String formats the problem as it appears in [Error.Error], without the
// "config: " prefix.
func (p Problem) String() string {
	var b strings.Builder
	switch p.Source {
	case SourceEnv, SourceFlag, SourceDefault, "":
	default:
		b.WriteString(p.Source)
		b.WriteString(": ")
	}
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Message)
	return b.String()
}

// Error is returned by [Loader.Load] when the configuration is invalid. It
// lists every problem found, not only the first.
type Error struct {
	Problems []Problem
}

// Error prints one line per problem, each starting with "config: ", e.g.
//
//	config: GATEHOUSE_ADDR: "abc" is not host:port (missing port)
func (e *Error) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = "config: " + p.String()
	}
	return strings.Join(lines, "\n")
}
