package tmpl

import (
	"path"
	"strings"
	"testing"
)

// FuzzPage checks that any request path maps to a parsed page or to none,
// and never through a "..", "." or dot-file element.
func FuzzPage(f *testing.F) {
	for _, p := range []string{"/", "/net/", "/net", "/a/../index.html", "/.x.html", "//index.html", "/net/./wifi.html", "index.html"} {
		f.Add(p)
	}
	s := &set{pages: map[string]bool{"index.html": true, "net/index.html": true, "net/wifi.html": true, ".x.html": true}}
	f.Fuzz(func(t *testing.T, p string) {
		name, ok := s.page(p)
		if !ok {
			return
		}
		if !s.pages[name] {
			t.Fatalf("page(%q) = %q, not a page", p, name)
		}
		for _, el := range strings.Split(p, "/") {
			if strings.HasPrefix(el, ".") {
				t.Fatalf("page(%q) = %q through a dot element", p, name)
			}
		}
		if path.Clean(name) != name || strings.HasPrefix(path.Base(name), ".") {
			t.Fatalf("page(%q) = %q", p, name)
		}
	})
}
