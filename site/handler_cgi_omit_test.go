//go:build nocgi

package site

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNoCGI(t *testing.T) {
	t.Run("a handler=cgi rule fails to load, naming its line and the build tag", func(t *testing.T) {
		dir := t.TempDir()
		route := filepath.Join(dir, "route.txt")
		os.WriteFile(route, []byte("route uri=/cgi-bin handler=cgi\nroute uri=/\n"), 0o644)
		_, err := New(Options{Root: dir, Route: route})
		if err == nil || !strings.Contains(err.Error(), "cgi: not built in (built with -tags nocgi)") ||
			!strings.Contains(err.Error(), "route.txt:1") {
			t.Fatalf("New: %v, want the nocgi error at route.txt:1", err)
		}
	})
}
