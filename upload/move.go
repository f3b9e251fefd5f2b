package upload

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
)

// MoveTo moves the temp file of f to dst, replacing dst. It renames when
// it can and, across filesystems, copies into a temp file next to dst,
// syncs it, renames it over dst and removes the source, so dst is never
// seen half-written.
func MoveTo(f File, dst string) error {
	err := os.Rename(f.Path, dst)
	if err == nil || !errors.Is(err, syscall.EXDEV) {
		return err
	}
	src, err := os.Open(f.Path)
	if err != nil {
		return err
	}
	defer src.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".move-*")
	if err != nil {
		return err
	}
	_, err = io.Copy(tmp, src)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), dst)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("upload: move %s: %w", f.Path, err)
	}
	return os.Remove(f.Path)
}
