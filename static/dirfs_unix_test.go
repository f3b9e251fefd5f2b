//go:build unix

package static

import (
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func TestDirFIFOIsRefusedWithoutBlocking(t *testing.T) {
	root := t.TempDir()
	if err := syscall.Mkfifo(filepath.Join(root, "pipe"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	fsys, err := Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	h := New(fsys, Options{})
	done := make(chan int, 1)
	go func() { done <- do(h, request(http.MethodGet, "/pipe")).Code }()
	select {
	case code := <-done:
		if code != http.StatusNotFound {
			t.Errorf("status = %d, want 404", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a request for a FIFO blocked in open")
	}
}
