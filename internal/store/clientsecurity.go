package store

// ClientSecurity is a client's mutual-TLS registration (RFC 8705) and its
// security profile. It is stored as one JSON document of the client, so
// its JSON names are the registration metadata names.
type ClientSecurity struct {
	// Profile is "" (no profile) or ProfileFAPI2: the FAPI 2.0 Security
	// Profile's rules apply to every request of the client.
	Profile string `json:"profile,omitempty"`
	// The one certificate field a tls_client_auth client is known by (RFC
	// 8705 2.1.2): the subject DN in RFC 4514 form, or one subject
	// alternative name of a kind.
	TLSSubjectDN string `json:"tls_client_auth_subject_dn,omitempty"`
	TLSSANDNS    string `json:"tls_client_auth_san_dns,omitempty"`
	TLSSANURI    string `json:"tls_client_auth_san_uri,omitempty"`
	TLSSANIP     string `json:"tls_client_auth_san_ip,omitempty"`
	TLSSANEmail  string `json:"tls_client_auth_san_email,omitempty"`
	// TLSBound (tls_client_certificate_bound_access_tokens) binds the
	// client's access tokens to its certificate (cnf.x5t#S256, RFC 8705 3)
	// and makes a certificate mandatory at the token endpoint.
	TLSBound bool `json:"tls_client_certificate_bound_access_tokens,omitempty"`
}

// ProfileFAPI2 is the FAPI 2.0 Security Profile.
const ProfileFAPI2 = "fapi2"

// FAPI2 reports whether the client is under the FAPI 2.0 profile.
func (s ClientSecurity) FAPI2() bool { return s.Profile == ProfileFAPI2 }
