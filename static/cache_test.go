package static

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

func TestCacheAnswersLikeTheFileSystem(t *testing.T) {
	root, _ := dirFixture(t)
	dir, err := Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	paths := []string{"/", "/index.html", "/style.css", "/plain.txt", "/noext", "/mystery.zzz", "/embed.txt",
		"/epoch.txt", "/favicon.ico", "/dir/", "/archive.gz", "/missing"}
	headers := [][]string{
		nil,
		{"Accept-Encoding", "gzip"},
		{"Accept-Encoding", "gzip;q=0"},
		{"Range", "bytes=2-5"},
		{"Accept-Encoding", "gzip", "Range", "bytes=2-5"},
		{"If-Modified-Since", modtime.Add(time.Hour).Format(http.TimeFormat)},
	}
	for _, src := range []struct {
		name string
		h    func(Options) *Handler
	}{
		{"fs.FS", func(o Options) *Handler { return New(fixture(t), o) }},
		{"Dir", func(o Options) *Handler { return New(dir, o) }},
	} {
		plain, cached := src.h(Options{CacheFileSize: -1}), src.h(Options{})
		for _, p := range paths {
			for _, kv := range headers {
				for _, method := range []string{http.MethodGet, http.MethodHead} {
					for round := range 2 { // fill, then hit
						want := do(plain, request(method, p, kv...))
						got := do(cached, request(method, p, kv...))
						if got.Code != want.Code || got.Body.String() != want.Body.String() {
							t.Errorf("%s %s %s %v round %d: %d %q, want %d %q", src.name, method, p, kv, round,
								got.Code, got.Body.String(), want.Code, want.Body.String())
						}
						for k, v := range want.Header() {
							if g := got.Header()[k]; !slices.Equal(g, v) {
								t.Errorf("%s %s %s %v round %d: %s = %q, want %q", src.name, method, p, kv, round, k, g, v)
							}
						}
						if len(got.Header()) != len(want.Header()) {
							t.Errorf("%s %s %s %v round %d: header %v, want %v", src.name, method, p, kv, round, got.Header(), want.Header())
						}
					}
				}
			}
		}
	}
}

func TestCacheSeesChangedFiles(t *testing.T) {
	root := t.TempDir()
	name := filepath.Join(root, "page.html")
	write := func(s string, mod time.Time) {
		t.Helper()
		if err := os.WriteFile(name, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(name, mod, mod); err != nil {
			t.Fatal(err)
		}
	}
	fsys, err := Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	h := New(fsys, Options{})
	get := func(want string) {
		t.Helper()
		for range 2 {
			if w := do(h, request(http.MethodGet, "/page.html")); w.Code != http.StatusOK || w.Body.String() != want {
				t.Fatalf("got %d %q, want %q", w.Code, w.Body.String(), want)
			}
		}
	}
	write("one", modtime)
	get("one")
	t.Run("a new size is seen", func(t *testing.T) {
		write("three", modtime)
		get("three")
	})
	t.Run("a new modification time is seen", func(t *testing.T) {
		write("THREE", modtime.Add(time.Second))
		get("THREE")
	})
	t.Run("a new sibling is seen", func(t *testing.T) {
		if err := os.WriteFile(name+".gz", []byte(gz(t, "THREE")), 0o644); err != nil {
			t.Fatal(err)
		}
		w := do(h, request(http.MethodGet, "/page.html", "Accept-Encoding", "gzip"))
		if w.Header().Get("Content-Encoding") != "gzip" || w.Body.String() != gz(t, "THREE") {
			t.Fatalf("got %v %q, want the new sibling", w.Header(), w.Body.String())
		}
	})
	t.Run("a removed file is 404", func(t *testing.T) {
		os.Remove(name)
		if w := do(h, request(http.MethodGet, "/page.html", "Accept-Encoding", "identity")); w.Code != http.StatusNotFound {
			t.Fatalf("status = %d, want 404", w.Code)
		}
	})
}

func TestCacheBounds(t *testing.T) {
	t.Run("a full cache serves files from the file system", func(t *testing.T) {
		h := New(fixture(t), Options{CacheSize: 10})
		for range 2 {
			if w := do(h, request(http.MethodGet, "/plain.txt")); w.Code != http.StatusOK || w.Body.String() != "0123456789abcdefghij" {
				t.Fatalf("got %d %q", w.Code, w.Body.String())
			}
		}
		if n := h.cache.size.Load(); n != 0 {
			t.Errorf("cache holds %d bytes over its bound of 10", n)
		}
	})
	t.Run("files are cached up to their bound", func(t *testing.T) {
		h := New(fixture(t), Options{CacheFileSize: 20})
		do(h, request(http.MethodGet, "/plain.txt"))  // 20 bytes: cached
		do(h, request(http.MethodGet, "/server.log")) // 18 bytes: cached
		do(h, request(http.MethodGet, "/index.html")) // 47 bytes: not
		if n := h.cache.size.Load(); n != 38 {
			t.Errorf("cache holds %d bytes, want 38", n)
		}
	})
}

// BenchmarkServe measures a GET of a small file from a directory, without
// and with the cache.
func BenchmarkServe(b *testing.B) {
	root := b.TempDir()
	if err := os.WriteFile(filepath.Join(root, "1k.html"), make([]byte, 1024), 0o644); err != nil {
		b.Fatal(err)
	}
	fsys, err := Dir(root)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		opts Options
	}{{"uncached", Options{CacheFileSize: -1}}, {"cached", Options{}}} {
		b.Run(bc.name, func(b *testing.B) {
			h := New(fsys, bc.opts)
			r := request(http.MethodGet, "/1k.html")
			b.ReportAllocs()
			for b.Loop() {
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
			}
		})
	}
}
