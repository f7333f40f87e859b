// Package archtest holds the architecture rules of DESIGN.md as tests: a
// package doc on every package, SQL only inside internal/store, services
// free of HTTP. It has no code of its own.
package archtest
