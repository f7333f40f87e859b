package e2e

import (
	"os"
	"syscall"
)

// statOwner answers the uid and gid owning fi.
func statOwner(fi os.FileInfo) (int, int) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1
	}
	return int(st.Uid), int(st.Gid)
}
