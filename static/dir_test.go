package static

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dirFixture writes fixture(t) under a new directory and returns the root
// and, next to it, a directory outside the root holding secret.txt.
func dirFixture(t *testing.T) (root, outside string) {
	t.Helper()
	base := t.TempDir()
	root, outside = filepath.Join(base, "root"), filepath.Join(base, "outside")
	for name, f := range fixture(t) {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, modtime, modtime); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("TOP SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	links := map[string]string{
		"escape.txt":  filepath.Join("..", "outside", "secret.txt"),
		"absolute":    filepath.Join(outside, "secret.txt"),
		"escdir":      filepath.Join("..", "outside"),
		"inside.txt":  "plain.txt",
		"insidedir":   "dir",
		"passwd.txt":  "/etc/passwd",
		"up/deep.txt": filepath.Join("..", "..", "outside", "secret.txt"),
	}
	for name, target := range links {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, p); err != nil {
			t.Skipf("symlinks unavailable: %v", err)
		}
	}
	return root, outside
}

func TestDir(t *testing.T) {
	root, _ := dirFixture(t)
	t.Run("a regular file is refused", func(t *testing.T) {
		_, err := Dir(filepath.Join(root, "plain.txt"))
		if err == nil || !strings.HasPrefix(err.Error(), "static: ") {
			t.Fatalf("Dir(file) error = %v, want one prefixed static:", err)
		}
	})
	t.Run("a missing directory is refused", func(t *testing.T) {
		_, err := Dir(filepath.Join(root, "nope"))
		if err == nil || !strings.HasPrefix(err.Error(), "static: ") {
			t.Fatalf("Dir(missing) error = %v", err)
		}
	})
	t.Run("a directory opens", func(t *testing.T) {
		fsys, err := Dir(root)
		if err != nil {
			t.Fatal(err)
		}
		b, err := fs.ReadFile(fsys, "dir/page.html")
		if err != nil || string(b) != "<p>page</p>" {
			t.Fatalf("ReadFile = %q, %v", b, err)
		}
	})
}

func TestDirSymlinks(t *testing.T) {
	root, _ := dirFixture(t)
	fsys, err := Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	log, buf := logBuffer()
	h := New(fsys, Options{Logger: log})
	tests := []struct {
		name string
		path string
		want int // 0: anything but 200
		body string
	}{
		{"a relative link out of the root is not followed", "/escape.txt", http.StatusNotFound, "404 page not found\n"},
		{"an absolute link out of the root is not followed", "/absolute", http.StatusNotFound, "404 page not found\n"},
		{"a link to /etc/passwd is not followed", "/passwd.txt", http.StatusNotFound, "404 page not found\n"},
		{"a directory link out of the root is not followed", "/escdir/secret.txt", http.StatusNotFound, "404 page not found\n"},
		{"a nested link out of the root is not followed", "/up/deep.txt", http.StatusNotFound, "404 page not found\n"},
		{"a link inside the root is followed", "/inside.txt", http.StatusOK, "0123456789abcdefghij"},
		{"a directory link inside the root is followed", "/insidedir/page.html", http.StatusOK, "<p>page</p>"},
		{"a file used as a directory is 404", "/plain.txt/x", http.StatusNotFound, "404 page not found\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := do(h, request(http.MethodGet, tt.path))
			if tt.want == 0 {
				if w.Code == http.StatusOK || strings.Contains(w.Body.String(), "SECRET") || strings.Contains(w.Body.String(), "root:") {
					t.Fatalf("status %d, body %q: served outside the root", w.Code, w.Body.String())
				}
				return
			}
			if w.Code != tt.want || w.Body.String() != tt.body {
				t.Fatalf("status %d body %q, want %d %q", w.Code, w.Body.String(), tt.want, tt.body)
			}
		})
	}
	if strings.Contains(buf.String(), "SECRET") {
		t.Errorf("the log leaks file content: %s", buf.String())
	}
	// A link out of the root is the site's business, not a server error:
	// Debug lines, never an ERROR per request.
	if strings.Contains(buf.String(), "level=ERROR") || !strings.Contains(buf.String(), "resolves outside the root") {
		t.Errorf("want Debug lines naming the escape, no ERROR: %s", buf.String())
	}
}

func TestDirPermission(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root reads files whatever their mode")
	}
	root, _ := dirFixture(t)
	if err := os.Chmod(filepath.Join(root, "plain.txt"), 0); err != nil {
		t.Fatal(err)
	}
	fsys, err := Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	w := do(New(fsys, Options{}), request(http.MethodGet, "/plain.txt"))
	if w.Code != http.StatusForbidden {
		t.Fatalf("status = %d, want 403", w.Code)
	}
}

// fromRecorder records the source the response is copied from.
type fromRecorder struct {
	*httptest.ResponseRecorder
	src io.Reader
}

func (r *fromRecorder) ReadFrom(src io.Reader) (int64, error) {
	r.src = src
	return io.Copy(struct{ io.Writer }{r.ResponseRecorder}, src)
}

func TestDirFilesReachTheWriterAsDescriptors(t *testing.T) {
	root, _ := dirFixture(t)
	if err := os.WriteFile(filepath.Join(root, "big.bin"), make([]byte, DefaultCacheFileSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	uncached := New(fsys, Options{CacheFileSize: -1})
	tests := []struct {
		name   string
		h      *Handler
		path   string
		accept string
	}{
		{"a plain file is copied from the file descriptor", uncached, "/plain.txt", ""},
		{"a gzip sibling is copied from the file descriptor", uncached, "/style.css", "gzip"},
		{"a range is copied from the file descriptor", uncached, "/plain.txt", ""},
		{"a file too large for the cache is copied from the file descriptor", New(fsys, Options{}), "/big.bin", ""},
	}
	for _, tt := range tests {
		h := tt.h
		t.Run(tt.name, func(t *testing.T) {
			w := &fromRecorder{ResponseRecorder: httptest.NewRecorder()}
			r := request(http.MethodGet, tt.path, "Accept-Encoding", tt.accept)
			if strings.Contains(tt.name, "range") {
				r.Header.Set("Range", "bytes=1-3")
			}
			h.ServeHTTP(w, r)
			if w.Code != http.StatusOK && w.Code != http.StatusPartialContent {
				t.Fatalf("status = %d", w.Code)
			}
			lr, ok := w.src.(*io.LimitedReader)
			if !ok {
				t.Fatalf("copied from %T, want *io.LimitedReader of *os.File", w.src)
			}
			if _, ok := lr.R.(syscall.Conn); !ok {
				t.Fatalf("copied from a LimitedReader of %T, want a file descriptor (syscall.Conn, for sendfile)", lr.R)
			}
		})
	}
}

// loopback starts a real server for h and returns its URL and a client that
// neither decompresses nor follows redirects.
func loopback(t *testing.T, h http.Handler) (string, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	c := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(c.CloseIdleConnections)
	return srv.URL, c
}

// raw sends the request line and headers reqHead verbatim and reads one
// response, failing instead of hanging.
func raw(t *testing.T, addr, reqHead string) (*http.Response, string) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(conn, reqHead+"\r\nHost: x\r\nConnection: close\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%q: %v", reqHead, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%q: body: %v", reqHead, err)
	}
	return resp, string(b)
}

func TestLoopback(t *testing.T) {
	root, _ := dirFixture(t)
	big := make([]byte, 4<<20+123)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "firmware.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	url, c := loopback(t, New(fsys, Options{}))
	get := func(t *testing.T, method, path string, kv ...string) (*http.Response, []byte) {
		t.Helper()
		req, err := http.NewRequest(method, url+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i+1 < len(kv); i += 2 {
			req.Header.Set(kv[i], kv[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, b
	}

	t.Run("the root serves the index", func(t *testing.T) {
		resp, b := get(t, http.MethodGet, "/")
		if resp.StatusCode != http.StatusOK || string(b) != indexHTML {
			t.Fatalf("status %d body %q", resp.StatusCode, b)
		}
	})
	t.Run("a large file arrives whole with its length", func(t *testing.T) {
		resp, b := get(t, http.MethodGet, "/firmware.bin")
		if resp.StatusCode != http.StatusOK || !bytes.Equal(b, big) {
			t.Fatalf("status %d, %d bytes, want %d identical", resp.StatusCode, len(b), len(big))
		}
		if resp.ContentLength != int64(len(big)) {
			t.Errorf("Content-Length = %d", resp.ContentLength)
		}
	})
	t.Run("a range of a large file is 206", func(t *testing.T) {
		resp, b := get(t, http.MethodGet, "/firmware.bin", "Range", "bytes=1000000-1000099")
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(b, big[1000000:1000100]) {
			t.Fatalf("status %d, %d bytes", resp.StatusCode, len(b))
		}
	})
	t.Run("HEAD has the length and no body", func(t *testing.T) {
		resp, b := get(t, http.MethodHead, "/firmware.bin")
		if resp.StatusCode != http.StatusOK || len(b) != 0 {
			t.Fatalf("status %d, %d body bytes", resp.StatusCode, len(b))
		}
		if got := resp.Header.Get("Content-Length"); got != strconv.Itoa(len(big)) {
			t.Errorf("Content-Length = %q", got)
		}
	})
	t.Run("gzip is served precompressed with its length", func(t *testing.T) {
		resp, b := get(t, http.MethodGet, "/style.css", "Accept-Encoding", "gzip, br")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("status %d, Content-Encoding %q", resp.StatusCode, resp.Header.Get("Content-Encoding"))
		}
		if string(b) != gz(t, styleCSS) {
			t.Error("body is not the .gz file")
		}
		if resp.ContentLength != int64(len(b)) {
			t.Errorf("Content-Length = %d, want %d", resp.ContentLength, len(b))
		}
		if resp.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("Vary = %q", resp.Header.Get("Vary"))
		}
	})
	t.Run("revalidation is 304", func(t *testing.T) {
		first, _ := get(t, http.MethodGet, "/plain.txt")
		resp, b := get(t, http.MethodGet, "/plain.txt", "If-None-Match", first.Header.Get("ETag"))
		if resp.StatusCode != http.StatusNotModified || len(b) != 0 {
			t.Fatalf("status %d, %d body bytes", resp.StatusCode, len(b))
		}
	})
	t.Run("a directory redirects relative to itself", func(t *testing.T) {
		resp, _ := get(t, http.MethodGet, "/dir?x=1")
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "dir/?x=1" {
			t.Fatalf("status %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
		}
	})
	t.Run("a followed redirect lands on the index", func(t *testing.T) {
		fc := &http.Client{Timeout: 10 * time.Second}
		resp, err := fc.Get(url + "/dir")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK || string(b) != "<p>dir</p>" || resp.Request.URL.Path != "/dir/" {
			t.Fatalf("status %d at %s body %q", resp.StatusCode, resp.Request.URL.Path, b)
		}
	})
	t.Run("POST is 405", func(t *testing.T) {
		resp, _ := get(t, http.MethodPost, "/plain.txt")
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "GET, HEAD" {
			t.Fatalf("status %d Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
	})

	addr := strings.TrimPrefix(url, "http://")
	rawTests := []struct {
		name string
		line string
		want int
	}{
		{"a literal dot-dot is refused", "GET /../outside/secret.txt HTTP/1.1", http.StatusBadRequest},
		{"an encoded dot-dot is refused", "GET /%2e%2e/outside/secret.txt HTTP/1.1", http.StatusBadRequest},
		{"an encoded slash dot-dot is refused", "GET /dir%2f..%2f..%2foutside/secret.txt HTTP/1.1", http.StatusBadRequest},
		{"an encoded backslash is refused", "GET /..%5coutside%5csecret.txt HTTP/1.1", http.StatusBadRequest},
		{"an encoded NUL is refused", "GET /plain.txt%00.html HTTP/1.1", http.StatusBadRequest},
		{"an encoded newline is refused", "GET /plain.txt%0d%0aSet-Cookie:%20x=1 HTTP/1.1", http.StatusBadRequest},
		{"a dotfile is hidden", "GET /.htpasswd HTTP/1.1", http.StatusNotFound},
		{"an encoded dotfile is hidden", "GET /%2egit/config HTTP/1.1", http.StatusNotFound},
		{"a script in the path is not echoed", "GET /%3Cscript%3Ealert(1)%3C/script%3E HTTP/1.1", http.StatusNotFound},
	}
	for _, tt := range rawTests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := raw(t, addr, tt.line)
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d (body %q)", resp.StatusCode, tt.want, body)
			}
			for _, leak := range []string{"SECRET", "admin:", "script", "alert", "outside", "Set-Cookie"} {
				if strings.Contains(body, leak) {
					t.Errorf("body %q contains %q", body, leak)
				}
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("header injected: %v", resp.Header)
			}
		})
	}
}

func ExampleDir() {
	dir, err := os.MkdirTemp("", "static-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<p>hello</p>"), 0o644); err != nil {
		fmt.Println(err)
		return
	}
	fsys, err := Dir(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	h := New(fsys, Options{})
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	fmt.Println(w.Code, w.Body.String())
	// Output: 200 <p>hello</p>
}
