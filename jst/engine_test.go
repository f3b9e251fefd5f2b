package jst

import (
	"bytes"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"
)

// countFS counts the pages opened, to tell a cached parse from a new one.
type countFS struct {
	fstest.MapFS
	opens atomic.Int32
}

func (c *countFS) Open(name string) (fs.File, error) {
	c.opens.Add(1)
	return c.MapFS.Open(name)
}

func newEngine(t *testing.T, root fs.FS, o Options) (*Engine, *bytes.Buffer) {
	t.Helper()
	var log bytes.Buffer
	o.Root = root
	o.Logger = slog.New(slog.NewTextHandler(&log, nil))
	e, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return e, &log
}

func get(e http.Handler, target string) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w
}

func TestServe(t *testing.T) {
	root := fstest.MapFS{
		"index.asp":   {Data: []byte(`<html><% write("hi"); %></html>`)},
		"net/lan.asp": {Data: []byte(`lan`)},
		"bad.asp":     {Data: []byte("<p>\n<% nope(); %>after")},
		"open.asp":    {Data: []byte("<p>\n<% write(1);")},
		"big.asp":     {Data: []byte(`<% for (i = 0; i < 100; i++) write("0123456789"); %>`)},
		".hidden.asp": {Data: []byte(`secret`)},
	}
	e, log := newEngine(t, root, Options{Limits: Limits{MaxOutput: 500}})

	t.Run("a page answers 200 with GoAhead's headers, in one piece", func(t *testing.T) {
		w := get(e, "/index.asp")
		h := w.Header()
		if w.Code != 200 || w.Body.String() != "<html>hi</html>" || h.Get("Content-Type") != "text/html" ||
			h.Get("Content-Length") != "15" || h.Get("Cache-Control") != "no-cache" || h.Get("Pragma") != "no-cache" {
			t.Fatalf("%d %v %q", w.Code, h, w.Body)
		}
	})
	t.Run("a page in a directory", func(t *testing.T) {
		if w := get(e, "/net/lan.asp"); w.Code != 200 || w.Body.String() != "lan" {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
	})
	for _, p := range []string{"/nope.asp", "/net", "/net/", "/", "/.hidden.asp", "/net/../.hidden.asp"} {
		t.Run("404 for "+p, func(t *testing.T) {
			if w := get(e, p); w.Code != 404 {
				t.Fatalf("%s: %d %q", p, w.Code, w.Body)
			}
		})
	}
	t.Run("a script error answers a generic 500 and logs file:line", func(t *testing.T) {
		log.Reset()
		w := get(e, "/bad.asp")
		if w.Code != 500 || strings.Contains(w.Body.String(), "nope") || strings.Contains(w.Body.String(), "<p>") {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
		if !strings.Contains(log.String(), `err="bad.asp:2: undefined function nope"`) {
			t.Fatalf("log %q", log)
		}
	})
	t.Run("an unterminated block answers 500 and logs file:line", func(t *testing.T) {
		log.Reset()
		if w := get(e, "/open.asp"); w.Code != 500 {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
		if !strings.Contains(log.String(), `open.asp:2: unterminated script block`) {
			t.Fatalf("log %q", log)
		}
	})
	t.Run("output past MaxOutput answers 500 and sends nothing of the page", func(t *testing.T) {
		if w := get(e, "/big.asp"); w.Code != 500 || strings.Contains(w.Body.String(), "0123") {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
	})
	t.Run("Serve takes a page name and a mode", func(t *testing.T) {
		w := httptest.NewRecorder()
		e.Serve(w, httptest.NewRequest("GET", "/anything", nil), "net/lan.asp", Mode{})
		if w.Code != 200 || w.Body.String() != "lan" {
			t.Fatalf("%d %q", w.Code, w.Body)
		}
		for _, bad := range []string{"../x", "/net/lan.asp", "", "."} {
			w := httptest.NewRecorder()
			e.Serve(w, httptest.NewRequest("GET", "/", nil), bad, Mode{})
			if w.Code != 404 {
				t.Fatalf("Serve(%q): %d", bad, w.Code)
			}
		}
	})
}

func TestInlineErrors(t *testing.T) {
	root := fstest.MapFS{
		"bad.asp":  {Data: []byte("<p>before</p>\n<% write(\"a\"); nope(\"<x>\"); %>after")},
		"loop.asp": {Data: []byte(`<p><% for (;;) ; %>`)},
	}
	e, log := newEngine(t, root, Options{Mode: Mode{InlineErrors: true}})
	w := get(e, "/bad.asp")
	want := "<p>before</p>\na<h2><b>Javascript Error: undefined function nope\n At line 2</b></h2>\n" +
		"<pre>write(&#34;a&#34;); nope(&#34;&lt;x&gt;&#34;); </pre></body></html>\n"
	if w.Code != 200 || w.Body.String() != want {
		t.Fatalf("%d %q\nwant %q", w.Code, w.Body, want)
	}
	if !strings.Contains(log.String(), "bad.asp:2: undefined function nope") {
		t.Fatalf("the inline error was not logged: %q", log)
	}
	if w := get(e, "/loop.asp"); w.Code != 500 {
		t.Fatalf("a limit under InlineErrors: %d %q, want 500", w.Code, w.Body)
	}
}

func TestCache(t *testing.T) {
	root := &countFS{MapFS: fstest.MapFS{
		"p.asp":    {Data: []byte(`<% write("one"); %>`), ModTime: time.Unix(1, 0)},
		"open.asp": {Data: []byte(`<% x`)},
	}}
	e, _ := newEngine(t, root, Options{})
	body := func(p string) string { return get(e, p).Body.String() }

	if b := body("/p.asp"); b != "one" {
		t.Fatalf("first: %q", b)
	}
	if b := body("/p.asp"); b != "one" || root.opens.Load() != 1 {
		t.Fatalf("second: %q after %d opens, want one parse", b, root.opens.Load())
	}
	root.MapFS["p.asp"] = &fstest.MapFile{Data: []byte(`<% write("two"); %>`), ModTime: time.Unix(2, 0)}
	if b := body("/p.asp"); b != "two" || root.opens.Load() != 2 {
		t.Fatalf("after a new mtime: %q after %d opens", b, root.opens.Load())
	}
	root.MapFS["p.asp"] = &fstest.MapFile{Data: []byte(`<% write("three"); %>`), ModTime: time.Unix(2, 0)}
	if b := body("/p.asp"); b != "three" {
		t.Fatalf("after a new size, same mtime: %q", b)
	}
	root.MapFS["p.asp"] = &fstest.MapFile{Data: []byte(`<% write("four!"); %>`), ModTime: time.Unix(2, 0)}
	if b := body("/p.asp"); b != "three" {
		t.Fatalf("same mtime and size: %q, want the cached parse", b)
	}
	e.Reset()
	if b := body("/p.asp"); b != "four!" {
		t.Fatalf("after Reset: %q", b)
	}
	n := root.opens.Load()
	get(e, "/open.asp")
	get(e, "/open.asp")
	if root.opens.Load() != n+1 {
		t.Fatalf("a page that fails to parse was parsed %d times, want once", root.opens.Load()-n)
	}
	delete(root.MapFS, "p.asp")
	if w := get(e, "/p.asp"); w.Code != 404 {
		t.Fatalf("a removed page: %d", w.Code)
	}
}

func TestMaxPage(t *testing.T) {
	e, log := newEngine(t, fstest.MapFS{"p.asp": {Data: bytes.Repeat([]byte("x"), 101)}}, Options{Limits: Limits{MaxPage: 100}})
	if w := get(e, "/p.asp"); w.Code != 500 || !strings.Contains(log.String(), "exceeds Limits.MaxPage") {
		t.Fatalf("%d %q", w.Code, log)
	}
}

func TestRequestVars(t *testing.T) {
	root := fstest.MapFS{"v.asp": {Data: []byte(`<% write(name, "|", multi, "|", null); %>`)}}
	e, _ := newEngine(t, root, Options{})
	if w := get(e, "/v.asp?name=%3Cb%3E&multi=1&multi=2&null=x"); w.Body.String() != "<b> | 1 2 | " {
		t.Fatalf("query vars: %d %q", w.Code, w.Body)
	}
	form := url.Values{"name": {"post"}, "multi": {"m"}}
	r := httptest.NewRequest("POST", "/v.asp", strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, r)
	if w.Body.String() != "post | m | " {
		t.Fatalf("form vars: %d %q", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	e.Serve(w, httptest.NewRequest("GET", "/v.asp?name=%3Cb%3E&multi=1", nil), "v.asp", Mode{EscapeHTML: true})
	if w.Body.String() != "&lt;b&gt; | 1 | " {
		t.Fatalf("escaped query vars: %q", w.Body)
	}
	e, _ = newEngine(t, root, Options{NoRequestVars: true})
	if w := get(e, "/v.asp?name=x&multi=1"); w.Code != 500 {
		t.Fatalf("NoRequestVars: %d %q", w.Code, w.Body)
	}
}

// TestConcurrent renders one page from many goroutines while it changes
// and the cache is reset, for the race detector.
func TestConcurrent(t *testing.T) {
	root := fstest.MapFS{"p.asp": {Data: []byte(`<% for (i = 0; i < 50; i++) write(n(i)); %>`)}}
	e, _ := newEngine(t, root, Options{})
	e.Define("n", func(c *Call) error { _, err := c.WriteString(c.Arg(0)); return err })
	var want strings.Builder
	for i := 0; i < 50; i++ {
		want.WriteString(itoa(int32(i)))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 50; i++ {
				if g == 0 && i%10 == 0 {
					e.Reset()
				}
				if b := get(e, "/p.asp").Body.String(); b != want.String() {
					errs <- b
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for b := range errs {
		t.Fatalf("got %q", b)
	}
}
