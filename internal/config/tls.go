package config

import (
	"fmt"
	"strings"
)

// TLSConfig is the HTTP listener's own TLS. Mode "off" (the default)
// serves plain HTTP (behind a proxy that terminates TLS); "files" serves
// HTTPS with the certificate and key files named here. With ClientCAFile
// set, the listener asks clients for a certificate (without requiring
// one: the OAuth endpoints decide, RFC 8705) and the CAs in that file
// issue the certificates of tls_client_auth clients; the same bundle
// verifies certificates forwarded by a trusted proxy.
type TLSConfig struct {
	Mode         string
	CertFile     string
	KeyFile      string
	ClientCAFile string
}

// TLS modes.
const (
	TLSOff   = "off"
	TLSFiles = "files"
	TLSACME  = "acme"
)

// tlsProblems checks the combination of the TLS settings.
func tlsProblems(c Config) []Problem {
	var out []Problem
	if c.TLS.Mode == TLSFiles && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		out = append(out, Problem{Key: "GATEHOUSE_TLS", Message: "tls=files needs tls.cert_file (GATEHOUSE_TLS_CERT_FILE) and tls.key_file (GATEHOUSE_TLS_KEY_FILE)"})
	}
	return out
}

// checkHeaderName: an HTTP header field name (RFC 9110 5.1 token).
func checkHeaderName(s string) (string, string) {
	if s == "" || len(s) > 100 {
		return "", "must be a header name of 1 to 100 characters"
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return "", fmt.Sprintf("%q is not a header name", s)
		}
	}
	return s, ""
}
