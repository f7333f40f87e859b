// Package archtest holds the architecture rules of DESIGN.md as tests: a
// package doc on every package, SQL only inside internal/store, every
// package in one layer with imports only along allowed edges, no HTTP
// below the surfaces (followed through every import), and files under
// 600 lines. It has no code of its own.
package archtest
