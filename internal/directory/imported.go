package directory

import (
	"github.com/gatehouse-id/gatehouse/internal/store"
	"github.com/gatehouse-id/gatehouse/internal/valid"
)

// CheckImportedUser validates a user another system created, as an edit
// that keeps its identifiers would be: the rules for values being newly
// chosen (reserved names, lookalikes) bind the people who choose them
// here, not accounts that already exist elsewhere. Errors: *valid.Error.
func CheckImportedUser(u *store.User) error {
	var c valid.Collector
	checkUser(&c, u, u)
	checkAttributes(&c, u.Attributes)
	return c.Err()
}

// CheckImportedGroup validates the name of a group an import creates.
// Errors: *valid.Error.
func CheckImportedGroup(name string) error {
	var c valid.Collector
	checkGroup(&c, &store.Group{Name: name})
	return c.Err()
}
