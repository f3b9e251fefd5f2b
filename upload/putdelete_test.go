package upload

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// tree is a PutDelete test layout: base/root is Root and base/outside
// holds a secret that no request may reach.
type tree struct {
	base, root, outside, secret string
	srv                         *httptest.Server
}

func newTree(t *testing.T, maxSize int64) *tree {
	t.Helper()
	base := t.TempDir()
	tr := &tree{base: base, root: filepath.Join(base, "root"), outside: filepath.Join(base, "outside")}
	tr.secret = filepath.Join(tr.outside, "secret")
	for _, d := range []string{tr.root, tr.outside, filepath.Join(tr.root, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must(t, os.WriteFile(tr.secret, []byte("secret"), 0o600))
	must(t, os.WriteFile(filepath.Join(tr.root, "sub", "f.txt"), []byte("old"), 0o600))
	must(t, os.Symlink("../outside", filepath.Join(tr.root, "link")))
	must(t, os.Symlink(tr.outside, filepath.Join(tr.root, "abslink")))
	must(t, os.Symlink("../outside/secret", filepath.Join(tr.root, "filelink")))
	tr.srv = httptest.NewServer(&PutDelete{Root: tr.root, MaxSize: maxSize})
	t.Cleanup(tr.srv.Close)
	return tr
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// do sends one raw request (target exactly as given) and returns the
// response status and Allow header.
func (tr *tree) do(t *testing.T, method, target, body string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", tr.srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: %d\r\n\r\n%s", method, target, len(body), body)
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("%s %s: %v", method, target, err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Allow")
}

// assertUntouched checks the secret and that nothing new appeared outside
// Root, and that no temp file is left anywhere.
func (tr *tree) assertUntouched(t *testing.T) {
	t.Helper()
	if b, err := os.ReadFile(tr.secret); err != nil || string(b) != "secret" {
		t.Errorf("the secret outside Root changed: %q, %v", b, err)
	}
	if names := dirEntries(t, tr.outside); len(names) != 1 {
		t.Errorf("files outside Root: %v", names)
	}
	if names := dirEntries(t, tr.base); len(names) != 2 {
		t.Errorf("files beside Root: %v", names)
	}
	filepath.WalkDir(tr.root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".put-") {
			t.Errorf("temp file left: %s", p)
		}
		return nil
	})
}

func (tr *tree) content(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(tr.root, name))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func TestPutDeleteLifecycle(t *testing.T) {
	tr := newTree(t, 1000)
	steps := []struct {
		name, method, target, body string
		want                       int
		file, content              string // expected content of file afterwards; "" skips
	}{
		{"a PUT of a new file creates it", "PUT", "/new.txt", "one", 201, "new.txt", "one"},
		{"a PUT over the file replaces it", "PUT", "/new.txt", "two", 204, "new.txt", "two"},
		{"a PUT in a subdirectory replaces its file", "PUT", "/sub/f.txt", "new", 204, "sub/f.txt", "new"},
		{"an empty PUT makes an empty file", "PUT", "/empty", "", 201, "empty", ""},
		{"a DELETE removes the file", "DELETE", "/new.txt", "", 204, "", ""},
		{"a second DELETE finds nothing", "DELETE", "/new.txt", "", 404, "", ""},
		{"a PUT into a missing directory conflicts", "PUT", "/nodir/x", "x", 409, "", ""},
		{"a PUT under a file conflicts", "PUT", "/sub/f.txt/x", "x", 409, "", ""},
		{"a PUT over a directory is refused", "PUT", "/sub", "x", 403, "", ""},
		{"a DELETE of a directory conflicts", "DELETE", "/sub", "", 409, "", ""},
		{"a PUT over MaxSize is refused", "PUT", "/sub/f.txt", strings.Repeat("x", 1001), 413, "sub/f.txt", "new"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if code, _ := tr.do(t, s.method, s.target, s.body); code != s.want {
				t.Errorf("%s %s = %d, want %d", s.method, s.target, code, s.want)
			}
			if s.file != "" {
				if got := tr.content(t, s.file); got != s.content {
					t.Errorf("%s holds %q, want %q", s.file, got, s.content)
				}
			}
			tr.assertUntouched(t)
		})
	}
	if _, err := os.Stat(filepath.Join(tr.root, "new.txt")); !os.IsNotExist(err) {
		t.Errorf("new.txt still exists: %v", err)
	}
	if fi, err := os.Stat(filepath.Join(tr.root, "empty")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("a put file has mode %v (%v), want 0600", fi.Mode(), err)
	}
}

func TestPutDeleteOtherMethodsAreNotAllowed(t *testing.T) {
	tr := newTree(t, 0)
	for _, m := range []string{"GET", "POST", "HEAD", "OPTIONS", "PATCH"} {
		t.Run(m+" is answered 405 with Allow", func(t *testing.T) {
			code, allow := tr.do(t, m, "/sub/f.txt", "")
			if code != 405 || allow != "PUT, DELETE" {
				t.Errorf("%s = %d, Allow %q", m, code, allow)
			}
		})
	}
}

func TestPutDeleteRefusesEscapes(t *testing.T) {
	tr := newTree(t, 0)
	targets := []string{
		"/../outside/secret",
		"/sub/../../outside/secret",
		"/%2e%2e/outside/secret",
		"/..%2foutside%2fsecret",
		"/.%2e/outside/secret",
		"/sub/%2e%2e/%2e%2e/outside/secret",
		"/..\\outside\\secret",
		"/sub%5c..%5c..%5coutside%5csecret",
		"/secret%00.txt",
		"/.hidden",
		"/sub/.htaccess",
		"/sub/./f.txt",
		"/link/secret",
		"/link/new",
		"/abslink/secret",
		"/abslink/new",
		"/filelink",
		"/",
		"/sub/",
	}
	for _, target := range targets {
		for _, m := range []string{"PUT", "DELETE"} {
			t.Run(m+" "+target+" is refused", func(t *testing.T) {
				code, _ := tr.do(t, m, target, "pwned")
				if code != 400 && code != 403 && code != 404 && code != 409 {
					t.Errorf("%s %s = %d, want a refusal", m, target, code)
				}
				tr.assertUntouched(t)
				if got := tr.content(t, "sub/f.txt"); got != "old" {
					t.Errorf("sub/f.txt holds %q", got)
				}
			})
		}
	}
}

func TestPutDeleteAbortedPutKeepsOldFile(t *testing.T) {
	tests := []struct {
		name    string
		header  string
		chunked bool
	}{
		{"a reset during a Content-Length body", "Content-Length: 10000000\r\n", false},
		{"a reset during a chunked body", "Transfer-Encoding: chunked\r\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name+" leaves the old content and no temp file", func(t *testing.T) {
			tr := newTree(t, 0)
			conn, err := net.Dial("tcp", tr.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "PUT /sub/f.txt HTTP/1.1\r\nHost: x\r\n%s\r\n", tt.header)
			data := bytes.Repeat([]byte("n"), 100_000)
			if tt.chunked {
				fmt.Fprintf(conn, "%x\r\n", len(data))
			}
			conn.Write(data)
			sub := filepath.Join(tr.root, "sub")
			waitFor(t, "a temp file to appear", func() bool { return len(dirEntries(t, sub)) == 2 })
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			waitFor(t, "the temp file to go", func() bool { return len(dirEntries(t, sub)) == 1 })
			if got := tr.content(t, "sub/f.txt"); got != "old" {
				t.Errorf("sub/f.txt holds %d bytes, want the old content", len(got))
			}
			tr.assertUntouched(t)
		})
	}
}

func TestPutDeleteChunkedOverLimit(t *testing.T) {
	tr := newTree(t, 1000)
	req, err := http.NewRequest("PUT", tr.srv.URL+"/sub/f.txt", io.MultiReader(bytes.NewReader(bytes.Repeat([]byte("x"), 5000))))
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = -1
	resp, err := tr.srv.Client().Do(req)
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != 413 {
			t.Errorf("status %d, want 413", resp.StatusCode)
		}
	}
	if got := tr.content(t, "sub/f.txt"); got != "old" {
		t.Errorf("sub/f.txt holds %q", got)
	}
	tr.assertUntouched(t)
}

// waitFor polls cond for up to 10 s and fails the test with what it
// waited for.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after 10 s waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// A body cut short by a half-close is never a 201 or 204: 400, nothing
// written, the old content kept.
func TestPutDeleteTruncatedBodyIsNotSuccess(t *testing.T) {
	for _, tt := range []struct{ name, target, header, sent string }{
		{"a new file, Content-Length 1000, 10 bytes sent", "/sub/new.bin", "Content-Length: 1000\r\n", "0123456789"},
		{"a replaced file, Content-Length 64, 63 bytes sent", "/sub/f.txt", "Content-Length: 64\r\n", strings.Repeat("r", 63)},
		{"a chunked body without its last chunk", "/sub/f.txt", "Transfer-Encoding: chunked\r\n", "5\r\nhello\r\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTree(t, 0)
			conn, err := net.Dial("tcp", tr.srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			fmt.Fprintf(conn, "PUT %s HTTP/1.1\r\nHost: x\r\n%s\r\n%s", tt.target, tt.header, tt.sent)
			conn.(*net.TCPConn).CloseWrite()
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			if _, err := os.Stat(filepath.Join(tr.root, "sub", "new.bin")); err == nil {
				t.Errorf("a truncated PUT created the file")
			}
			if got := tr.content(t, "sub/f.txt"); got != "old" {
				t.Errorf("sub/f.txt = %q, want the old content", got)
			}
			tr.assertUntouched(t)
		})
	}
}
