//go:build notmpl

package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNoTmpl(t *testing.T) {
	t.Run("a handler=tmpl rule fails to load, naming its line and the build tag", func(t *testing.T) {
		dir := t.TempDir()
		route := filepath.Join(dir, "route.txt")
		os.WriteFile(route, []byte("route uri=/\nroute uri=/pages handler=tmpl\n"), 0o644)
		_, err := New(Options{Root: dir, Route: route})
		if err == nil || !strings.Contains(err.Error(), "tmpl: not built in (built with -tags notmpl)") ||
			!strings.Contains(err.Error(), "route.txt:2") {
			t.Fatalf("New: %v, want the notmpl error at route.txt:2", err)
		}
	})
	t.Run("without a handler=tmpl rule the server loads", func(t *testing.T) {
		dir := t.TempDir()
		route := filepath.Join(dir, "route.txt")
		os.WriteFile(route, []byte("route uri=/\n"), 0o644)
		if _, err := New(Options{Root: dir, Route: route}); err != nil {
			t.Fatalf("New: %v", err)
		}
	})
}
