//go:build unix

package auth

import (
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives f the owner and group of old, where permitted (as root,
// or for a file the caller already owns).
func keepOwner(f *os.File, old fs.FileInfo) {
	if st, ok := old.Sys().(*syscall.Stat_t); ok {
		f.Chown(int(st.Uid), int(st.Gid)) // best effort: mode 0600 still holds
	}
}
