package site

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigilhttp/vigil/static"
)

// newSite builds a Site from the route.txt text routes, in front of a file
// server of a fresh document root.
func newSite(t *testing.T, routes string) *Site {
	t.Helper()
	dir := t.TempDir()
	route := filepath.Join(dir, "route.txt")
	if err := os.WriteFile(route, []byte(routes), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := static.Dir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Root: dir, Route: route, Content: static.New(fsys, static.Options{})})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// nopWriter is a ResponseWriter that keeps nothing, for counting the
// router's own allocations.
type nopWriter struct{ h http.Header }

func (w nopWriter) Header() http.Header         { return w.h }
func (w nopWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w nopWriter) WriteHeader(int)             {}

func TestRouterAllocs(t *testing.T) {
	s := newSite(t, "route uri=/action handler=continue\nroute uri=/action/tiny handler=continue methods=GET\n"+
		"route uri=/action handler=action\nroute uri=/\n")
	served := 0
	if err := s.Action("tiny", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served++
		w.WriteHeader(http.StatusNoContent)
	})); err != nil {
		t.Fatal(err)
	}
	r, _ := http.NewRequest(http.MethodGet, "http://x/action/tiny", nil)
	w := nopWriter{h: http.Header{}}
	// Two handler=continue rules and the handling rule: the chain of a
	// request is found without building it on the heap.
	if n := testing.AllocsPerRun(100, func() { s.ServeHTTP(w, r) }); n != 0 {
		t.Errorf("router: %v allocations per request, want 0", n)
	}
	if served == 0 {
		t.Error("the action was never served")
	}
}

// Item 12 of issue 14: redirect=https keeps an IPv6 literal host in one
// pair of brackets.
func TestRedirectHTTPSKeepsIPv6Brackets(t *testing.T) {
	s := newSite(t, "route uri=/ protocol=http redirect=https handler=redirect\n")
	s.SetHTTPSPort("8443")
	for host, want := range map[string]string{
		"[::1]:8080":         "https://[::1]:8443/x?y=1",
		"[fe80::1]":          "https://[fe80::1]:8443/x?y=1",
		"192.0.2.1:80":       "https://192.0.2.1:8443/x?y=1",
		"device.local":       "https://device.local:8443/x?y=1",
		"[2001:db8::5]:8080": "https://[2001:db8::5]:8443/x?y=1",
	} {
		r := httptest.NewRequest("GET", "http://x/x?y=1", nil)
		r.Host = host
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if got := w.Header().Get("Location"); w.Code != 301 || got != want {
			t.Errorf("Host %s: %d %q, want 301 %q", host, w.Code, got, want)
		}
	}
}

func TestSetHTTPSPortKeepsTheFirst(t *testing.T) {
	s := newSite(t, "route uri=/ protocol=http redirect=https handler=redirect\n")
	s.SetHTTPSPort("8443")
	s.SetHTTPSPort("9443")
	r := httptest.NewRequest("GET", "http://x/", nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if got := w.Header().Get("Location"); got != "https://x:8443/" {
		t.Errorf("Location %q, want the first https listener's port: https://x:8443/", got)
	}
}
