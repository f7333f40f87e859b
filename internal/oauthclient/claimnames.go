package oauthclient

import "slices"

// ValidClaimName reports whether name is acceptable as a claim name of
// ours: 1 to 128 letters, digits, _ . : / or -, starting with a letter or _.
func ValidClaimName(name string) bool { return claimRE.MatchString(name) }

// ReservedClaim reports whether the provider sets name itself (iss, sub,
// aud, exp, ...), so nothing configured may add or replace it.
func ReservedClaim(name string) bool { return slices.Contains(reservedClaims, name) }

// ProfileClaim reports whether name is a standard profile claim (email,
// name, groups, ...), which says who the user is and comes only from the
// directory.
func ProfileClaim(name string) bool { return slices.Contains(profileClaims, name) }
