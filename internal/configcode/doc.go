// Package configcode is configuration as code: tenants and what is in them
// (settings, OAuth clients, SAML service providers, connections, roles,
// groups) declared in YAML files, compared with the live state into a plan
// (create, change field by field, delete with prune), applied through the
// same services the API uses (so every change is validated and audited),
// and exported from a live tenant in the same format. Objects are matched
// by stable keys: a tenant's slug, a SAML provider's entity_id, and the
// name of everything else, never by generated ids. Secrets are references
// (${env:NAME}, ${file:/path}) resolved at plan time and never written out.
// It knows nothing of HTTP or flags: the CLI and the API call it.
package configcode
