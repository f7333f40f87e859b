// Package mfa is multi-factor authentication: TOTP (RFC 6238) with a
// replay guard decided in the database and one step of drift, recovery
// codes (hashed, single use), the tenant/client/group policy that says when
// a second factor is asked, and step-up (acr_values, SAML
// RequestedAuthnContext). Factor secrets are sealed with the master key
// before they reach the store, bound to tenant and factor id. It knows
// nothing of HTTP; internal/flow asks it during a login and internal/web
// drives enrolment.
package mfa
