package config

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Names of the setting that points at the YAML file.
const (
	ConfigEnv  = "GATEHOUSE_CONFIG"
	ConfigFlag = "config"
)

// Loader reads the configuration once the flags it registered are parsed.
// Create it with [RegisterFlags].
type Loader struct {
	fs     *flag.FlagSet
	config *rawFlag
	values []*rawFlag // parallel to settings
}

// RegisterFlags adds one flag per setting to fs, plus --config PATH (env
// GATEHOUSE_CONFIG), and returns the Loader that reads them. The flags only
// record their text; parsing and validation happen in [Loader.Load], so a
// bad flag value is reported together with every other problem.
func RegisterFlags(fs *flag.FlagSet) *Loader {
	l := &Loader{fs: fs, config: &rawFlag{}}
	fs.Var(l.config, ConfigFlag, "YAML config file (env "+ConfigEnv+", default none)")
	for i := range settings {
		s := &settings[i]
		v := &rawFlag{secret: s.secret}
		fs.Var(v, s.flag, s.help())
		l.values = append(l.values, v)
	}
	return l
}

// rawFlag is a flag.Value that keeps the text it was given.
type rawFlag struct {
	value  string
	secret bool
}

func (f *rawFlag) Set(s string) error { f.value = s; return nil }

func (f *rawFlag) String() string {
	if f.secret {
		return Secret(f.value).String()
	}
	return f.value
}

// raw is a setting's text as given by one source.
type raw struct {
	value  string
	key    string // the name the user gave: env var, --flag or YAML path
	source string // SourceEnv, SourceFlag or file:line
}

// Load builds the configuration after the flag set has been parsed:
// [Default] values, overridden by the YAML file named by --config or
// GATEHOUSE_CONFIG (if any), then by environment variables, then by flags
// set explicitly on the command line. Only the winning value of each
// setting is parsed and validated. A variable that is set but empty counts
// as set. YAML null leaves the value unchanged.
//
// lookupEnv is normally [os.LookupEnv]; nil means os.LookupEnv. On failure
// Load returns the zero Config and an [*Error] listing every problem.
func (l *Loader) Load(lookupEnv func(string) (string, bool)) (Config, error) {
	if !l.fs.Parsed() {
		return Config{}, errors.New("config: Load called before the flag set was parsed")
	}
	if lookupEnv == nil {
		lookupEnv = os.LookupEnv
	}
	explicit := map[string]bool{}
	l.fs.Visit(func(f *flag.Flag) { explicit[f.Name] = true })

	var problems []Problem
	given := make([]*raw, len(settings))

	// The config file: the flag beats the environment.
	var path string
	pathFrom := Problem{Key: ConfigEnv, Source: SourceEnv}
	if v, ok := lookupEnv(ConfigEnv); ok {
		path = v
	}
	if explicit[ConfigFlag] {
		path, pathFrom = l.config.value, Problem{Key: "--" + ConfigFlag, Source: SourceFlag}
	}
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			pathFrom.Message = fmt.Sprintf("cannot read %q: %v", path, err)
			problems = append(problems, pathFrom)
		} else {
			problems = append(problems, readYAML(path, data, given)...)
		}
	}

	for i := range settings {
		s := &settings[i]
		if v, ok := lookupEnv(s.env); ok {
			given[i] = &raw{value: v, key: s.env, source: SourceEnv}
		}
		if explicit[s.flag] {
			given[i] = &raw{value: l.values[i].value, key: "--" + s.flag, source: SourceFlag}
		}
	}

	cfg := Default()
	for i := range settings {
		s, g := &settings[i], given[i]
		if g == nil {
			continue
		}
		if msg := s.set(&cfg, g.value); msg != "" {
			problems = append(problems, Problem{Key: g.key, Source: g.source, Message: msg})
		}
	}
	problems = append(problems, tlsProblems(cfg)...) // tls.go
	if len(problems) > 0 {
		return Config{}, &Error{Problems: problems}
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = defaultPublicURL(cfg.Addr)
		if cfg.TLS.Mode == TLSFiles {
			cfg.PublicURL = "https" + strings.TrimPrefix(cfg.PublicURL, "http")
		}
	}
	return cfg, nil
}

// defaultPublicURL is "http://" + addr, naming localhost when addr has no
// host (":8080").
func defaultPublicURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + addr
	}
	if host == "" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// readYAML walks the file's YAML tree against the settings table, storing
// each value found in given. Unknown and duplicate keys, and values of the
// wrong shape, are problems naming the key path.
func readYAML(path string, data []byte, given []*raw) []Problem {
	var problems []Problem
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil // empty file
		}
		return []Problem{{Source: path, Message: err.Error()}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return []Problem{{Source: path, Message: "must hold exactly one YAML document"}}
	}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	byKey := map[string]int{}
	sections := map[string]bool{}
	for i, s := range settings {
		byKey[s.key] = i
		for j := range len(s.key) {
			if s.key[j] == '.' {
				sections[s.key[:j]] = true
			}
		}
	}
	at := func(n *yaml.Node) string { return fmt.Sprintf("%s:%d", path, n.Line) }

	var walk func(n *yaml.Node, prefix string)
	walk = func(n *yaml.Node, prefix string) {
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], deref(n.Content[i+1])
			key := prefix + k.Value
			problem := func(msg string) {
				problems = append(problems, Problem{Key: key, Source: at(k), Message: msg})
			}
			if seen[key] {
				problem("duplicate key")
				continue
			}
			seen[key] = true
			idx, isSetting := byKey[key]
			switch {
			case strings.Contains(k.Value, "."): // must be nested: argon2: {memory_kib: ...}
				problem("unknown key")
			case isSetting && v.ShortTag() == "!!null":
			case isSetting && v.Kind != yaml.ScalarNode:
				problem("must be a single value, not a list or mapping")
			case isSetting:
				given[idx] = &raw{value: v.Value, key: key, source: at(v)}
			case sections[key] && v.ShortTag() == "!!null":
			case sections[key] && v.Kind != yaml.MappingNode:
				problem("must be a mapping of " + strings.TrimSuffix(key, ".") + ".* keys")
			case sections[key]:
				walk(v, key+".")
			default:
				problem("unknown key")
			}
		}
	}
	root = deref(root)
	switch {
	case root.ShortTag() == "!!null":
	case root.Kind != yaml.MappingNode:
		problems = append(problems, Problem{Source: at(root), Message: "must be a YAML mapping of settings"})
	default:
		walk(root, "")
	}
	return problems
}

// deref follows YAML aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
