// Package ldap is the LDAPv3 read interface for applications that only
// speak LDAP: a listener of its own (StartTLS, LDAPS) built on gldap, simple
// binds as a user (the login flow's throttled password check) or as a
// service account (a tenant API key with scope read), and searches over a
// tree per tenant (dc={tenant},dc=gatehouse) that run in the store as
// bounded queries. Every bind and search is audited. It is a protocol
// surface: it talks to the store through its interfaces, never SQL.
package ldap
