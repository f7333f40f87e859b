//go:build tools

// Package mailpit pins the SMTP server the end-to-end tests start
// (github.com/axllent/mailpit, MIT). It is a module of its own so the
// main go.mod does not take its dependencies; test/e2e builds it with
// `go build github.com/axllent/mailpit` from here into a cache directory.
package mailpit

import _ "github.com/axllent/mailpit"
