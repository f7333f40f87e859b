// Package credential hashes and verifies passwords and enforces password
// policy for Gatehouse, following NIST SP 800-63B.
//
// Hashing uses argon2id (RFC 9106) with per-hash random salts and encodes
// results as PHC strings:
//
//	$argon2id$v=19$m=19456,t=2,p=1$<salt>$<key>
//
// where salt (16 bytes) and key (32 bytes) are unpadded standard base64.
// Verification also accepts bcrypt hashes ($2a$, $2b$, $2y$) imported from
// other systems and reports when a stored hash should be replaced by one made
// with the current parameters ("needs rehash"), so callers can upgrade hashes
// transparently after a successful login.
//
// Passwords are normalised to Unicode NFKC before hashing and before policy
// checks, so visually equivalent inputs (ligatures, fullwidth digits, composed
// versus decomposed accents) are treated as the same password.
//
// Policy implements the 800-63B memorised-secret rules: a minimum and maximum
// length counted in code points, a blocklist of common and repetitive
// passwords, refusal of passwords built from the user's own identifiers, and
// no composition rules or periodic expiry.
//
// A Hasher is safe for concurrent use. Policy is a plain value.
package credential
