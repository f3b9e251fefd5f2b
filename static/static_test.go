package static

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/fstest"
	"time"
)

var modtime = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

const (
	indexHTML = "<!doctype html><title>home</title><p>home</p>\n"
	styleCSS  = "body { color: #222; background: #fff; margin: 0 auto; max-width: 40em; }\n"
)

// gz returns s compressed with gzip.
func gz(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(zw, s); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// fixture returns the files most tests serve. Files have modtime unless
// their name says "embed" (no modification time, like embed.FS).
func fixture(t testing.TB) fstest.MapFS {
	files := map[string]string{
		"index.html":        indexHTML,
		"index.html.gz":     gz(t, indexHTML),
		"style.css":         styleCSS,
		"style.css.gz":      gz(t, styleCSS),
		"plain.txt":         "0123456789abcdefghij",
		"server.log":        "line one\nline two\n",
		"notes.md":          "# notes\n",
		"data.csv":          "a,b\n1,2\n",
		"font.woff2":        "wOF2\x00\x01",
		"favicon.ico":       "\x00\x00\x01\x00",
		"fw.bin":            "\x7fELF\x02\x01",
		"noext":             "<!DOCTYPE html><p>sniffed</p>",
		"mystery.zzz":       "just some text",
		"mystery.zzz.gz":    gz(t, "just some text"),
		"archive.gz":        gz(t, "archive"),
		"dir/index.html":    "<p>dir</p>",
		"dir/page.html":     "<p>page</p>",
		"empty/readme.txt":  "no index here",
		"a:b/index.html":    "<p>colon</p>",
		".git/config":       "[core]",
		".htpasswd":         "admin:secret",
		"sub/.hidden":       "hidden",
		"sub/ok.txt":        "ok",
		"embed.txt":         "embedded content",
		"embed.txt.gz":      gz(t, "embedded content"),
		"epoch.txt":         "epoch",
		"home/home.htm":     "<p>custom index</p>",
		"index.html.gz.txt": "not a sibling",
	}
	m := fstest.MapFS{}
	for name, data := range files {
		f := &fstest.MapFile{Data: []byte(data), Mode: 0o444, ModTime: modtime}
		switch {
		case strings.HasPrefix(name, "embed"):
			f.ModTime = time.Time{}
		case name == "epoch.txt":
			f.ModTime = time.Unix(0, 0)
		}
		m[name] = f
	}
	return m
}

// request builds a request whose URL.Path is p exactly (httptest.NewRequest
// would refuse some of the paths tested), with header fields kv.
func request(method, p string, kv ...string) *http.Request {
	r := httptest.NewRequest(method, "/", nil)
	r.URL.Path = p
	for i := 0; i+1 < len(kv); i += 2 {
		r.Header.Add(kv[i], kv[i+1])
	}
	return r
}

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// logBuffer returns a logger writing text lines at every level to a buffer.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, &slog.HandlerOptions{Level: slog.LevelDebug})), &b
}

func TestMethods(t *testing.T) {
	h := New(fixture(t), Options{})
	tests := []struct {
		name   string
		method string
		want   int
	}{
		{"GET serves the file", http.MethodGet, http.StatusOK},
		{"HEAD serves the headers", http.MethodHead, http.StatusOK},
		{"POST is not allowed", http.MethodPost, http.StatusMethodNotAllowed},
		{"PUT is not allowed", http.MethodPut, http.StatusMethodNotAllowed},
		{"DELETE is not allowed", http.MethodDelete, http.StatusMethodNotAllowed},
		{"OPTIONS is not allowed", http.MethodOptions, http.StatusMethodNotAllowed},
		{"an unknown method is not allowed", "BREW", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, request(tt.method, "/plain.txt"))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if tt.want == http.StatusMethodNotAllowed {
				if got := w.Header().Get("Allow"); got != "GET, HEAD" {
					t.Errorf("Allow = %q, want %q", got, "GET, HEAD")
				}
			}
		})
	}
}

func TestHeadHasLengthAndNoBody(t *testing.T) {
	h := New(fixture(t), Options{})
	w := do(h, request(http.MethodHead, "/plain.txt"))
	if w.Code != http.StatusOK {
		t.Fatalf("status = %d", w.Code)
	}
	if got := w.Header().Get("Content-Length"); got != "20" {
		t.Errorf("Content-Length = %q, want 20", got)
	}
	if w.Body.Len() != 0 {
		t.Errorf("HEAD body has %d bytes, want none", w.Body.Len())
	}
}

func TestPaths(t *testing.T) {
	tests := []struct {
		name string
		path string
		want int
		body string // "" means not checked
	}{
		{"the root serves the index", "/", http.StatusOK, indexHTML},
		{"a file is served", "/index.html", http.StatusOK, indexHTML},
		{"a nested file is served", "/dir/page.html", http.StatusOK, "<p>page</p>"},
		{"doubled slashes are cleaned", "//dir//page.html", http.StatusOK, "<p>page</p>"},
		{"a dot segment is cleaned", "/./dir/./page.html", http.StatusOK, "<p>page</p>"},
		{"a path without a leading slash is refused", "index.html", http.StatusBadRequest, "400 bad request\n"},
		{"an empty path is refused", "", http.StatusBadRequest, ""},
		{"dot-dot above the root is refused", "/../etc/passwd", http.StatusBadRequest, "400 bad request\n"},
		{"dot-dot far above the root is refused", "/../../../../etc/shadow", http.StatusBadRequest, ""},
		{"dot-dot inside the root is refused", "/dir/../index.html", http.StatusBadRequest, ""},
		{"a trailing dot-dot is refused", "/dir/..", http.StatusBadRequest, ""},
		{"a NUL byte is refused", "/index.html\x00.txt", http.StatusBadRequest, ""},
		{"a backslash is refused", "/dir\\page.html", http.StatusBadRequest, ""},
		{"a backslash dot-dot is refused", "/..\\..\\etc\\passwd", http.StatusBadRequest, ""},
		{"a control byte is refused", "/index\x01.html", http.StatusBadRequest, ""},
		{"a newline is refused", "/index.html\r\nX-Evil: 1", http.StatusBadRequest, ""},
		{"DEL is refused", "/index\x7f.html", http.StatusBadRequest, ""},
		{"invalid UTF-8 is refused", "/index\xff.html", http.StatusBadRequest, ""},
		{"a .git directory is hidden", "/.git/config", http.StatusNotFound, "404 page not found\n"},
		{"a dotfile at the root is hidden", "/.htpasswd", http.StatusNotFound, ""},
		{"a nested dotfile is hidden", "/sub/.hidden", http.StatusNotFound, ""},
		{"a dot directory itself is hidden", "/.git/", http.StatusNotFound, ""},
		{"a missing file is 404", "/missing.html", http.StatusNotFound, "404 page not found\n"},
		{"a file used as a directory is 404", "/index.html/x", http.StatusNotFound, ""},
		{"a file with a trailing slash is 404", "/index.html/", http.StatusNotFound, ""},
		{"a script in the path is not echoed", "/<script>alert(1)</script>", http.StatusNotFound, "404 page not found\n"},
		{"a script in a refused path is not echoed", "/<img src=x onerror=alert(1)>/../x", http.StatusBadRequest, "400 bad request\n"},
		{"a sibling of a missing file is not served", "/nothing.html", http.StatusNotFound, ""},
	}
	h := New(fixture(t), Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, request(http.MethodGet, tt.path))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body = %q, want %q", w.Body.String(), tt.body)
			}
			if tt.want >= 400 {
				if len(tt.path) > 1 && strings.Contains(w.Body.String(), tt.path[1:]) {
					t.Errorf("error body %q echoes the request path", w.Body.String())
				}
				if got := w.Header().Get("Content-Type"); got != "text/plain; charset=utf-8" {
					t.Errorf("error Content-Type = %q", got)
				}
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
}

func TestDirectories(t *testing.T) {
	tests := []struct {
		name     string
		index    string
		path     string
		want     int
		location string
		body     string
	}{
		{"a directory without a slash redirects", "", "/dir", http.StatusMovedPermanently, "dir/", ""},
		{"the redirect keeps the query string", "", "/dir?x=1&y=a%20b", http.StatusMovedPermanently, "dir/?x=1&y=a%20b", ""},
		{"a nested directory redirects to its last segment", "", "/home", http.StatusMovedPermanently, "home/", ""},
		{"a colon in the directory cannot become a scheme", "", "/a:b", http.StatusMovedPermanently, "a%3Ab/", ""},
		{"a directory with a slash serves its index", "", "/dir/", http.StatusOK, "", "<p>dir</p>"},
		{"a directory with a trailing dot serves its index", "", "/dir/.", http.StatusOK, "", "<p>dir</p>"},
		{"a directory without an index is 404, never a listing", "", "/empty/", http.StatusNotFound, "", "404 page not found\n"},
		{"a directory without an index still redirects first", "", "/empty", http.StatusMovedPermanently, "empty/", ""},
		{"a custom index is served", "home.htm", "/home/", http.StatusOK, "", "<p>custom index</p>"},
		{"a custom index replaces the default", "home.htm", "/dir/", http.StatusNotFound, "", ""},
		{"an index with a slash is never served", "../index.html", "/dir/", http.StatusNotFound, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New(fixture(t), Options{Index: tt.index})
			r := httptest.NewRequest(http.MethodGet, tt.path, nil)
			w := do(h, r)
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if got := w.Header().Get("Location"); got != tt.location {
				t.Errorf("Location = %q, want %q", got, tt.location)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body = %q, want %q", w.Body.String(), tt.body)
			}
			if strings.Contains(w.Body.String(), "readme.txt") {
				t.Errorf("body lists the directory: %q", w.Body.String())
			}
		})
	}
}

func TestContentType(t *testing.T) {
	tests := []struct {
		name string
		path string
		want string
	}{
		{"HTML by extension", "/index.html", "text/html; charset=utf-8"},
		{"CSS by extension", "/style.css", "text/css; charset=utf-8"},
		{"a text file is UTF-8 plain text", "/plain.txt", "text/plain; charset=utf-8"},
		{"a log file is UTF-8 plain text", "/server.log", "text/plain; charset=utf-8"},
		{"Markdown", "/notes.md", "text/markdown; charset=utf-8"},
		{"CSV", "/data.csv", "text/csv; charset=utf-8"},
		{"WOFF2", "/font.woff2", "font/woff2"},
		{"a firmware blob is an octet stream", "/fw.bin", "application/octet-stream"},
		{"no extension is sniffed", "/noext", "text/html; charset=utf-8"},
		{"an unknown extension is sniffed", "/mystery.zzz", "text/plain; charset=utf-8"},
	}
	h := New(fixture(t), Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, request(http.MethodGet, tt.path))
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d", w.Code)
			}
			if got := w.Header().Get("Content-Type"); got != tt.want {
				t.Errorf("Content-Type = %q, want %q", got, tt.want)
			}
			if got := w.Header().Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
	t.Run("an icon has an image type", func(t *testing.T) {
		w := do(h, request(http.MethodGet, "/favicon.ico"))
		if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "image/") {
			t.Errorf("Content-Type = %q, want image/…", got)
		}
	})
}

func TestContentTypeTable(t *testing.T) {
	// The built-in table is what a device without /etc/mime.types gets;
	// check it directly, whatever the host's mime database says.
	for _, ext := range []string{".txt", ".log", ".md", ".csv", ".ico", ".woff", ".woff2", ".bin"} {
		t.Run("the table knows "+ext, func(t *testing.T) {
			if got := contentType("f" + ext); got == "" {
				t.Errorf("contentType(%q) is empty", "f"+ext)
			}
		})
	}
}

func TestETag(t *testing.T) {
	h := New(fixture(t), Options{})
	hashTag := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return fmt.Sprintf(`"%x"`, sum[:8])
	}
	tests := []struct {
		name         string
		path         string
		etag         string
		lastModified string
	}{
		{"a file with a modification time gets size and time", "/plain.txt",
			fmt.Sprintf(`"%x-%x"`, 20, modtime.UnixNano()), modtime.Format(http.TimeFormat)},
		{"a file without a modification time gets a content hash", "/embed.txt", hashTag("embedded content"), ""},
		{"a file at the Unix epoch gets a content hash", "/epoch.txt", hashTag("epoch"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, request(http.MethodGet, tt.path))
			got := w.Header().Get("ETag")
			if got != tt.etag {
				t.Errorf("ETag = %s, want %s", got, tt.etag)
			}
			if !regexp.MustCompile(`^"[0-9a-f-]+"$`).MatchString(got) {
				t.Errorf("ETag %s is not strong and quoted", got)
			}
			if got := w.Header().Get("Last-Modified"); got != tt.lastModified {
				t.Errorf("Last-Modified = %q, want %q", got, tt.lastModified)
			}
		})
	}
}

func TestConditional(t *testing.T) {
	h := New(fixture(t), Options{})
	first := do(h, request(http.MethodGet, "/plain.txt"))
	hashed := do(h, request(http.MethodGet, "/embed.txt"))
	tests := []struct {
		name string
		path string
		kv   []string
		want int
	}{
		{"a matching If-None-Match is 304", "/plain.txt", []string{"If-None-Match", first.Header().Get("ETag")}, http.StatusNotModified},
		{"a matching content-hash If-None-Match is 304", "/embed.txt", []string{"If-None-Match", hashed.Header().Get("ETag")}, http.StatusNotModified},
		{"If-None-Match star is 304", "/plain.txt", []string{"If-None-Match", "*"}, http.StatusNotModified},
		{"a stale If-None-Match is 200", "/plain.txt", []string{"If-None-Match", `"stale"`}, http.StatusOK},
		{"If-Modified-Since at the modification time is 304", "/plain.txt", []string{"If-Modified-Since", modtime.Format(http.TimeFormat)}, http.StatusNotModified},
		{"If-Modified-Since before the modification time is 200", "/plain.txt", []string{"If-Modified-Since", modtime.Add(-time.Hour).Format(http.TimeFormat)}, http.StatusOK},
		{"a failing If-Match is 412", "/plain.txt", []string{"If-Match", `"other"`}, http.StatusPreconditionFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, request(http.MethodGet, tt.path, tt.kv...))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if tt.want == http.StatusNotModified && w.Body.Len() != 0 {
				t.Errorf("304 has a body of %d bytes", w.Body.Len())
			}
		})
	}
}

// countFS counts the bytes read from the files it opens.
type countFS struct {
	fs.FS
	n *atomic.Int64
}

type seekFile interface {
	fs.File
	io.Seeker
}

type countFile struct {
	seekFile
	n *atomic.Int64
}

func (c countFS) Open(name string) (fs.File, error) {
	f, err := c.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return &countFile{f.(seekFile), c.n}, nil
}

func (c *countFile) Read(p []byte) (int, error) {
	n, err := c.seekFile.Read(p)
	c.n.Add(int64(n))
	return n, err
}

func TestContentHashIsComputedOnce(t *testing.T) {
	var n atomic.Int64
	h := New(countFS{fixture(t), &n}, Options{})
	w := do(h, request(http.MethodGet, "/embed.txt", "Accept-Encoding", "identity"))
	size := int64(len("embedded content") + len(gz(t, "embedded content")))
	if got := n.Load(); got != size {
		t.Errorf("first request read %d bytes, want %d (the file and its sibling, once)", got, size)
	}
	n.Store(0)
	w = do(h, request(http.MethodGet, "/embed.txt", "If-None-Match", w.Header().Get("ETag"), "Accept-Encoding", "identity"))
	if w.Code != http.StatusNotModified {
		t.Fatalf("status = %d, want 304", w.Code)
	}
	if got := n.Load(); got != 0 {
		t.Errorf("revalidation read %d bytes, want 0 (hash cached)", got)
	}
}

func TestRange(t *testing.T) {
	h := New(fixture(t), Options{})
	tests := []struct {
		name  string
		rng   string
		want  int
		body  string
		ctype string
	}{
		{"a single range is 206", "bytes=2-5", http.StatusPartialContent, "2345", "text/plain; charset=utf-8"},
		{"a suffix range is 206", "bytes=-3", http.StatusPartialContent, "hij", ""},
		{"an open range is 206", "bytes=15-", http.StatusPartialContent, "fghij", ""},
		{"several ranges are multipart", "bytes=0-1,10-11", http.StatusPartialContent, "", "multipart/byteranges; boundary="},
		{"a range past the end is 416", "bytes=100-200", http.StatusRequestedRangeNotSatisfiable, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, request(http.MethodGet, "/plain.txt", "Range", tt.rng))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body = %q, want %q", w.Body.String(), tt.body)
			}
			if tt.ctype != "" && !strings.HasPrefix(w.Header().Get("Content-Type"), tt.ctype) {
				t.Errorf("Content-Type = %q, want prefix %q", w.Header().Get("Content-Type"), tt.ctype)
			}
			if tt.want == http.StatusRequestedRangeNotSatisfiable && w.Header().Get("Content-Range") != "bytes */20" {
				t.Errorf("Content-Range = %q, want bytes */20", w.Header().Get("Content-Range"))
			}
		})
	}
}

func TestPrecompressed(t *testing.T) {
	fsys := fixture(t)
	h := New(fsys, Options{})
	plain := do(h, request(http.MethodGet, "/style.css"))
	tests := []struct {
		name     string
		accept   []string
		wantGzip bool
	}{
		{"no Accept-Encoding gets the plain file", nil, false},
		{"gzip gets the gzip file", []string{"gzip"}, true},
		{"a browser's list gets the gzip file", []string{"gzip, deflate, br, zstd"}, true},
		{"gzip with a lower weight still gets it", []string{"br;q=1.0, gzip;q=0.5"}, true},
		{"uppercase GZIP gets it", []string{"GZIP"}, true},
		{"x-gzip gets it", []string{"x-gzip"}, true},
		{"gzip in a second field gets it", []string{"br", "gzip"}, true},
		{"star gets it", []string{"*"}, true},
		{"gzip with q=0 does not", []string{"gzip;q=0"}, false},
		{"gzip with q=0.000 does not", []string{"gzip; q=0.000"}, false},
		{"gzip with q=0 wins over star", []string{"gzip;q=0, *"}, false},
		{"star with q=0 does not", []string{"*;q=0"}, false},
		{"identity does not", []string{"identity"}, false},
		{"deflate does not", []string{"deflate, br"}, false},
		{"a malformed weight does not", []string{"gzip;q=lots"}, false},
		{"an out-of-range weight does not", []string{"gzip;q=2"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(http.MethodGet, "/style.css")
			for _, v := range tt.accept {
				r.Header.Add("Accept-Encoding", v)
			}
			w := do(h, r)
			if w.Code != http.StatusOK {
				t.Fatalf("status = %d", w.Code)
			}
			wantBody, wantEnc := styleCSS, ""
			if tt.wantGzip {
				wantBody, wantEnc = string(fsys["style.css.gz"].Data), "gzip"
			}
			if w.Body.String() != wantBody {
				t.Errorf("body is not the %s variant", map[bool]string{true: "gzip", false: "plain"}[tt.wantGzip])
			}
			if got := w.Header().Get("Content-Encoding"); got != wantEnc {
				t.Errorf("Content-Encoding = %q, want %q", got, wantEnc)
			}
			if got := w.Header().Get("Content-Type"); got != "text/css; charset=utf-8" {
				t.Errorf("Content-Type = %q, want the original's", got)
			}
			if got := w.Header().Get("Vary"); got != "Accept-Encoding" {
				t.Errorf("Vary = %q, want Accept-Encoding", got)
			}
			if got := w.Header().Get("Content-Length"); got != strconv.Itoa(len(wantBody)) {
				t.Errorf("Content-Length = %q, want %d", got, len(wantBody))
			}
			tag := w.Header().Get("ETag")
			if tt.wantGzip != strings.HasSuffix(tag, `-gz"`) {
				t.Errorf("ETag = %s, gzip variant %v", tag, tt.wantGzip)
			}
			if tt.wantGzip && tag == plain.Header().Get("ETag") {
				t.Errorf("gzip ETag %s equals the plain one", tag)
			}
		})
	}
}

func TestPrecompressedEdges(t *testing.T) {
	fsys := fixture(t)
	h := New(fsys, Options{})
	gzTag := do(h, request(http.MethodGet, "/style.css", "Accept-Encoding", "gzip")).Header().Get("ETag")
	cssGz := string(fsys["style.css.gz"].Data)
	tests := []struct {
		name    string
		path    string
		kv      []string
		want    int
		enc     string
		vary    string
		ctype   string
		body    string
		noCheck bool
	}{
		{"a range applies to the gzip bytes", "/style.css", []string{"Accept-Encoding", "gzip", "Range", "bytes=0-9"},
			http.StatusPartialContent, "gzip", "Accept-Encoding", "text/css; charset=utf-8", cssGz[:10], false},
		{"an unsatisfiable range on gzip is plain text", "/style.css", []string{"Accept-Encoding", "gzip", "Range", "bytes=9999-"},
			http.StatusRequestedRangeNotSatisfiable, "", "Accept-Encoding", "text/plain; charset=utf-8", "", false},
		{"revalidating the gzip variant is 304", "/style.css", []string{"Accept-Encoding", "gzip", "If-None-Match", gzTag},
			http.StatusNotModified, "", "Accept-Encoding", "", "", false},
		{"the gzip ETag does not revalidate the plain variant", "/style.css", []string{"If-None-Match", gzTag},
			http.StatusOK, "", "Accept-Encoding", "text/css; charset=utf-8", styleCSS, false},
		{"a .gz file asked for by name is served as is", "/style.css.gz", []string{"Accept-Encoding", "gzip"},
			http.StatusOK, "", "", "", cssGz, false},
		{"a lone .gz file has no Vary", "/archive.gz", []string{"Accept-Encoding", "gzip"},
			http.StatusOK, "", "", "", "", true},
		{"a file without a sibling has no Vary", "/plain.txt", []string{"Accept-Encoding", "gzip"},
			http.StatusOK, "", "", "text/plain; charset=utf-8", "0123456789abcdefghij", false},
		{"the directory index uses its sibling", "/", []string{"Accept-Encoding", "gzip"},
			http.StatusOK, "gzip", "Accept-Encoding", "text/html; charset=utf-8", string(fsys["index.html.gz"].Data), false},
		{"an unknown type is sniffed from the original", "/mystery.zzz", []string{"Accept-Encoding", "gzip"},
			http.StatusOK, "gzip", "Accept-Encoding", "text/plain; charset=utf-8", string(fsys["mystery.zzz.gz"].Data), false},
		{"a sibling without a modification time gets a hash ETag", "/embed.txt", []string{"Accept-Encoding", "gzip"},
			http.StatusOK, "gzip", "Accept-Encoding", "text/plain; charset=utf-8", string(fsys["embed.txt.gz"].Data), false},
		{"HEAD on the gzip variant has its length", "/style.css", []string{"Accept-Encoding", "gzip"},
			http.StatusOK, "gzip", "Accept-Encoding", "text/css; charset=utf-8", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			method := http.MethodGet
			if strings.HasPrefix(tt.name, "HEAD") {
				method = http.MethodHead
			}
			w := do(h, request(method, tt.path, tt.kv...))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if tt.noCheck {
				if got := w.Header().Get("Vary"); got != "" {
					t.Errorf("Vary = %q, want none", got)
				}
				return
			}
			if got := w.Header().Get("Content-Encoding"); got != tt.enc {
				t.Errorf("Content-Encoding = %q, want %q", got, tt.enc)
			}
			if got := w.Header().Get("Vary"); got != tt.vary {
				t.Errorf("Vary = %q, want %q", got, tt.vary)
			}
			if tt.ctype != "" && w.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", w.Header().Get("Content-Type"), tt.ctype)
			}
			if tt.body != "" && w.Body.String() != tt.body {
				t.Errorf("body = %q, want %q", w.Body.String(), tt.body)
			}
			if method == http.MethodHead && w.Header().Get("Content-Length") != strconv.Itoa(len(cssGz)) {
				t.Errorf("Content-Length = %q, want %d", w.Header().Get("Content-Length"), len(cssGz))
			}
			if tt.enc == "gzip" && !strings.HasSuffix(w.Header().Get("ETag"), `-gz"`) {
				t.Errorf("ETag = %s, want a -gz suffix", w.Header().Get("ETag"))
			}
		})
	}
}

// errFS fails to open the names in errs with their error.
type errFS struct {
	fs.FS
	errs map[string]error
}

func (e errFS) Open(name string) (fs.File, error) {
	if err, ok := e.errs[name]; ok {
		return nil, &fs.PathError{Op: "open", Path: name, Err: err}
	}
	return e.FS.Open(name)
}

// noSeekFS opens files that cannot seek.
type noSeekFS struct{ fs.FS }

func (n noSeekFS) Open(name string) (fs.File, error) {
	f, err := n.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return struct{ fs.File }{f}, nil
}

func TestErrors(t *testing.T) {
	boom := errors.New("disk on fire")
	tests := []struct {
		name    string
		fsys    fs.FS
		path    string
		want    int
		body    string
		logWant string // a substring of the log, "" for no log line at all
	}{
		{"a missing file is logged at debug", fixture(t), "/missing", http.StatusNotFound,
			"404 page not found\n", "level=DEBUG"},
		{"a permission error is 403, logged at warn with the reason", errFS{fixture(t), map[string]error{"plain.txt": fs.ErrPermission}}, "/plain.txt",
			http.StatusForbidden, "403 forbidden\n", "level=WARN msg=\"static: file not readable by the server: permission denied\""},
		{"any other open error is 500 and logged", errFS{fixture(t), map[string]error{"plain.txt": boom}}, "/plain.txt",
			http.StatusInternalServerError, "500 internal server error\n", "disk on fire"},
		{"a file that cannot seek is 500 and logged", noSeekFS{fixture(t)}, "/plain.txt",
			http.StatusInternalServerError, "500 internal server error\n", "io.Seeker"},
		{"an unusable sibling falls back to the plain file", errFS{fixture(t), map[string]error{"style.css.gz": boom}}, "/style.css",
			http.StatusOK, styleCSS, "level=WARN"},
		{"an unreadable index is 403, logged at warn with the reason", errFS{fixture(t), map[string]error{"dir/index.html": fs.ErrPermission}}, "/dir/",
			http.StatusForbidden, "403 forbidden\n", "level=WARN msg=\"static: file not readable by the server: permission denied\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			log, buf := logBuffer()
			h := New(tt.fsys, Options{Logger: log})
			w := do(h, request(http.MethodGet, tt.path, "Accept-Encoding", "gzip"))
			if w.Code != tt.want {
				t.Fatalf("status = %d, want %d", w.Code, tt.want)
			}
			if w.Body.String() != tt.body {
				t.Errorf("body = %q, want %q", w.Body.String(), tt.body)
			}
			if tt.want >= 400 && (w.Header().Get("ETag") != "" || w.Header().Get("Vary") != "") {
				t.Errorf("error response carries file headers: %v", w.Header())
			}
			if !strings.Contains(buf.String(), tt.logWant) {
				t.Errorf("log %q does not contain %q", buf.String(), tt.logWant)
			}
			if tt.want == http.StatusInternalServerError && !strings.Contains(buf.String(), "level=ERROR") {
				t.Errorf("a 500 is not logged at Error: %q", buf.String())
			}
		})
	}
}

func TestZeroOptions(t *testing.T) {
	h := New(fixture(t), Options{})
	w := do(h, request(http.MethodGet, "/missing"))
	if w.Code != http.StatusNotFound {
		t.Fatalf("status = %d, want 404 with a nil logger", w.Code)
	}
}

func TestGzipWriterUnwraps(t *testing.T) {
	rec := httptest.NewRecorder()
	var w http.ResponseWriter = &gzipWriter{ResponseWriter: rec}
	if err := http.NewResponseController(w).Flush(); err != nil {
		t.Fatalf("Flush through the gzip writer: %v", err)
	}
	if !rec.Flushed {
		t.Error("the recorder was not flushed")
	}
}

func TestOpenStatusOutOfDescriptors(t *testing.T) {
	for _, err := range []error{
		&fs.PathError{Op: "openat", Path: "x", Err: syscall.EMFILE},
		&fs.PathError{Op: "openat", Path: "x", Err: syscall.ENFILE},
	} {
		if got := openStatus(err); got != http.StatusServiceUnavailable {
			t.Errorf("openStatus(%v) = %d, want 503: out of descriptors is busy, not broken", err, got)
		}
	}
}
