//go:build !nopprof

package status

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
)

func TestPprof(t *testing.T) {
	get := func(t *testing.T, target string) (*http.Response, string) {
		t.Helper()
		resp := do(t, New(Options{}), "GET", target)
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}

	t.Run("the index lists the runtime's profiles and the four handlers, linked relative", func(t *testing.T) {
		resp, body := get(t, "/debug/pprof/")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("GET /debug/pprof/: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, want := range []string{"href='goroutine?debug=1'", "href='heap?debug=1'", "href='allocs?debug=1'",
			"href='cmdline?debug=1'", "href='profile?debug=1'", "href='symbol?debug=1'", "href='trace?debug=1'",
			`<a href="goroutine?debug=2">full goroutine stack dump</a>`} {
			if !strings.Contains(body, want) {
				t.Errorf("index lacks %s", want)
			}
		}
	})

	t.Run("a named profile is text with debug=1 and an attachment without", func(t *testing.T) {
		resp, body := get(t, "/debug/pprof/goroutine?debug=1")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "goroutine profile: total") {
			t.Errorf("goroutine?debug=1: %d %.40q", resp.StatusCode, body)
		}
		resp, body = get(t, "/debug/pprof/heap?gc=1")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Disposition") != `attachment; filename="heap"` ||
			!strings.HasPrefix(body, "\x1f\x8b") {
			t.Errorf("heap: %d %q, want a gzipped profile", resp.StatusCode, resp.Header.Get("Content-Disposition"))
		}
	})

	t.Run("an unknown profile is 404, a delta profile 400 with the way around", func(t *testing.T) {
		if resp, _ := get(t, "/debug/pprof/nope"); resp.StatusCode != http.StatusNotFound {
			t.Errorf("nope: %d", resp.StatusCode)
		}
		resp, body := get(t, "/debug/pprof/heap?seconds=5")
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "-diff_base") {
			t.Errorf("heap?seconds=5: %d %q", resp.StatusCode, body)
		}
	})

	t.Run("cmdline is the arguments joined by NUL", func(t *testing.T) {
		_, body := get(t, "/debug/pprof/cmdline")
		if got := strings.Split(body, "\x00"); len(got) == 0 || !strings.HasSuffix(got[0], ".test") {
			t.Errorf("cmdline %q", body)
		}
	})

	t.Run("symbol maps program counters from the query and the body", func(t *testing.T) {
		pc := reflect.ValueOf(TestPprof).Pointer()
		_, body := get(t, fmt.Sprintf("/debug/pprof/symbol?%#x", pc))
		if !strings.Contains(body, "num_symbols: 1\n") || !strings.Contains(body, "status.TestPprof") {
			t.Errorf("GET symbol: %q", body)
		}
		r := httptest.NewRequest("POST", "/debug/pprof/symbol", bytes.NewBufferString(fmt.Sprintf("%#x+%#x", pc, pc)))
		w := httptest.NewRecorder()
		New(Options{}).ServeHTTP(w, r)
		if n := strings.Count(w.Body.String(), "status.TestPprof"); n != 2 {
			t.Errorf("POST symbol: %q", w.Body.String())
		}

		word := fmt.Sprintf("%#x+", pc)
		big := strings.Repeat(word, 2*maxSymbolBody/len(word))
		r = httptest.NewRequest("POST", "/debug/pprof/symbol", strings.NewReader(big))
		w = httptest.NewRecorder()
		New(Options{}).ServeHTTP(w, r)
		if n := strings.Count(w.Body.String(), "status.TestPprof"); n > maxSymbolBody/len(word) ||
			!strings.Contains(w.Body.String(), "reading request: http: request body too large") {
			t.Errorf("POST symbol of %d bytes: %d symbols, tail %q; want at most %d and the body refused",
				len(big), n, w.Body.String()[max(0, w.Body.Len()-200):], maxSymbolBody/len(word))
		}
	})

	t.Run("CPU profile and trace capture for ?seconds=, bounded by MaxProfileSeconds", func(t *testing.T) {
		resp, body := get(t, "/debug/pprof/trace?seconds=0.05")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Disposition") != `attachment; filename="trace"` || len(body) == 0 {
			t.Errorf("trace: %d %q %d bytes", resp.StatusCode, resp.Header.Get("Content-Disposition"), len(body))
		}
		resp, body = get(t, "/debug/pprof/profile?seconds=1")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(body, "\x1f\x8b") {
			t.Errorf("profile: %d %.20q", resp.StatusCode, body)
		}
		for _, target := range []string{"/debug/pprof/profile?seconds=301", "/debug/pprof/trace?seconds=1e9"} {
			if resp, _ := get(t, target); resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: %d, want 400", target, resp.StatusCode)
			}
		}
	})
}
