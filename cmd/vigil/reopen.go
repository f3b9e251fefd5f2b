package main

import (
	"os"
	"sync"
)

// reopener is the access log file: Reopen, on SIGHUP, opens the path anew,
// so that after logrotate renamed the old file (its default, without
// copytruncate) the lines go to a new file at the same path.
type reopener struct {
	path string

	mu sync.Mutex // guards f; held across a write, which is to a local file
	f  *os.File
}

func openReopener(path string) (*reopener, error) {
	f, err := openLog(path)
	if err != nil {
		return nil, err
	}
	return &reopener{path: path, f: f}, nil
}

func openLog(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
}

// Write writes p to the current file.
func (r *reopener) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Write(p)
}

// Reopen opens the path again and writes there from now on; on error the
// old file stays in use.
func (r *reopener) Reopen() error {
	f, err := openLog(r.path)
	if err != nil {
		return err
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	return old.Close()
}

// Close closes the current file.
func (r *reopener) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.f.Close()
}
