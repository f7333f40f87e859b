// Package config loads Gatehouse's settings from defaults, an optional YAML
// file, the environment and command-line flags.
//
// A single table of settings (see settings.go) defines, for every setting,
// its YAML key, its environment variable, its flag, its default and its
// validation rule, so the three ways of configuring the server cannot
// disagree. Later sources override earlier ones:
//
//	defaults <- YAML file (--config / GATEHOUSE_CONFIG) <- environment <- flags
//
// Only the value that wins is parsed and validated. Every problem found is
// collected and returned together as an [*Error], each [Problem] naming the
// setting the way the user spelled it: GATEHOUSE_ADDR for the environment,
// --addr for a flag, and "file.yaml:LINE: addr" for the config file.
//
// Typical use:
//
//	fs := flag.NewFlagSet("gatehouse", flag.ExitOnError)
//	loader := config.RegisterFlags(fs)
//	_ = fs.Parse(os.Args[1:])
//	cfg, err := loader.Load(os.LookupEnv)
//
// The master key is a [Secret]: its value is never printed by fmt, slog,
// encoding/json, help text or error messages.
package config
