package static

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// dirFS is the fs.FS of Dir: os.Root's own FS, except that files are
// opened non-blocking where the system has it. A regular file then reaches
// the runtime poller already non-blocking, which saves the four fcntl calls
// os.Open spends to switch it to non-blocking and back when the poller
// refuses it; reads of a regular file do not depend on the flag. A FIFO
// opened by mistake does not block the open either (it is refused as not a
// regular file).
type dirFS struct {
	root *os.Root
	fsys fs.FS // root.FS(), for everything but Open
}

func (d *dirFS) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	f, err := d.root.OpenFile(name, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, outside(name, err)
	}
	return f, nil
}

// errOutside is what Dir's Open returns for a name that resolves outside
// the root (a symbolic link out of it): a kind of fs.ErrNotExist, so that
// the request is a 404 logged at Debug, not a 500 logged at Error.
var errOutside = fmt.Errorf("%w: resolves outside the root (a symbolic link out of it)", fs.ErrNotExist)

// outside maps os.Root's refusal of a name that escapes it to errOutside.
// os.Root reports that with an error of its own, not an errno; every error
// of the system is an errno, so anything else from OpenFile is the root's.
func outside(name string, err error) error {
	var pe *fs.PathError
	var errno syscall.Errno
	if errors.As(err, &pe) && !errors.As(pe.Err, &errno) && !errors.Is(pe.Err, fs.ErrNotExist) &&
		!errors.Is(pe.Err, fs.ErrPermission) && !errors.Is(pe.Err, fs.ErrInvalid) {
		return &fs.PathError{Op: "open", Path: name, Err: errOutside}
	}
	return err
}

func (d *dirFS) Stat(name string) (fs.FileInfo, error)      { return fs.Stat(d.fsys, name) }
func (d *dirFS) Lstat(name string) (fs.FileInfo, error)     { return fs.Lstat(d.fsys, name) }
func (d *dirFS) ReadFile(name string) ([]byte, error)       { return fs.ReadFile(d.fsys, name) }
func (d *dirFS) ReadDir(name string) ([]fs.DirEntry, error) { return fs.ReadDir(d.fsys, name) }
func (d *dirFS) ReadLink(name string) (string, error)       { return fs.ReadLink(d.fsys, name) }
