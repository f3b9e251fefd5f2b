package tmpl

import (
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
)

func files(m map[string]string) fstest.MapFS {
	fsys := fstest.MapFS{}
	for name, src := range m {
		fsys[name] = &fstest.MapFile{Data: []byte(src)}
	}
	return fsys
}

var funcs = template.FuncMap{
	"shout": strings.ToUpper,
	"fail":  func() (string, error) { return "", errors.New("boom") },
	"big":   func(n int) string { return strings.Repeat("a", n) },
}

func newHandler(t *testing.T, fsys fstest.MapFS, max int) *Handler {
	t.Helper()
	h, err := New(Options{FS: fsys, Funcs: funcs, MaxOutput: max})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return h
}

func get(h http.Handler, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", target, nil))
	return rec
}

var site = map[string]string{
	"index.html":         `{{template "head.tmpl" .}}<p>{{shout "home"}}</p>`,
	"head.tmpl":          `<title>dev</title>`,
	"echo.html":          `<p>{{.Request.URL.Query}}</p><a title="{{.Request.URL.Query.Get "q"}}">x</a>`,
	"vals.html":          `{{.Values.user}}`,
	"broken.html":        `<p>partial output</p>{{fail}}`,
	"huge.html":          `{{big 1000}}`,
	"net/index.html":     `net home`,
	"net/wifi.html":      `wifi`,
	".secret.html":       `secret`,
	"net/.hidden/x.html": `hidden`,
}

func TestServe(t *testing.T) {
	h := newHandler(t, files(site), 500)
	tests := []struct {
		name, target string
		code         int
		body         string // substring expected in the body
	}{
		{"the root renders index.html with a registered func and a partial", "/", 200, "<title>dev</title><p>HOME</p>"},
		{"a page renders by its path", "/net/wifi.html", 200, "wifi"},
		{"a directory renders its index.html", "/net/", 200, "net home"},
		{"a directory without a slash renders its index.html", "/net", 200, "net home"},
		{"a missing page is 404", "/nope.html", 404, "404"},
		{"a partial is not a page", "/head.tmpl", 404, "404"},
		{"dot-dot is refused", "/net/../index.html", 404, "404"},
		{"an encoded dot-dot is refused", "/net/%2e%2e/index.html", 404, "404"},
		{"a dotfile is refused", "/.secret.html", 404, "404"},
		{"a dot directory is refused", "/net/.hidden/x.html", 404, "404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := get(h, tt.target)
			if rec.Code != tt.code || !strings.Contains(rec.Body.String(), tt.body) {
				t.Fatalf("GET %s = %d %q, want %d containing %q", tt.target, rec.Code, rec.Body, tt.code, tt.body)
			}
		})
	}
	t.Run("a page is sent with its length, type and no-store", func(t *testing.T) {
		rec := get(h, "/net/wifi.html")
		hd := rec.Header()
		if hd.Get("Content-Type") != "text/html; charset=utf-8" || hd.Get("Content-Length") != "4" || hd.Get("Cache-Control") != "no-store" {
			t.Fatalf("headers %v", hd)
		}
	})
	t.Run("hostile query values stay escaped", func(t *testing.T) {
		rec := get(h, `/echo.html?q=%3Cscript%3Ealert(1)%3C/script%3E%22`)
		b := rec.Body.String()
		if rec.Code != 200 || strings.Contains(b, "<script>") || !strings.Contains(b, "&lt;script&gt;") || strings.Contains(b, `)</script>"`) {
			t.Fatalf("body %q", b)
		}
	})
	t.Run("values from the context reach the page", func(t *testing.T) {
		r := httptest.NewRequest("GET", "/vals.html", nil)
		r = r.WithContext(WithValues(r.Context(), map[string]any{"user": "<alice>"}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Body.String() != "&lt;alice&gt;" {
			t.Fatalf("body %q", rec.Body)
		}
	})
	t.Run("an execution error is 500 with no partial page", func(t *testing.T) {
		rec := get(h, "/broken.html")
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "partial output") {
			t.Fatalf("= %d %q", rec.Code, rec.Body)
		}
	})
	t.Run("a page over MaxOutput is 500 with nothing of it", func(t *testing.T) {
		rec := get(h, "/huge.html")
		if rec.Code != 500 || strings.Contains(rec.Body.String(), "aaaa") {
			t.Fatalf("= %d %q", rec.Code, rec.Body)
		}
	})
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"a nil FS is an error", Options{}, "FS is nil"},
		{"a negative MaxOutput is an error", Options{FS: files(site), MaxOutput: -1}, "negative"},
		{"a parse error names file and line", Options{FS: files(map[string]string{"a/b.html": "ok\n{{if}}"})}, "a/b.html:2"},
		{"an unknown func names file and line", Options{FS: files(map[string]string{"c.tmpl": "{{nope}}"})}, "c.tmpl:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestReload(t *testing.T) {
	fsys := files(map[string]string{"index.html": "v1"})
	h := newHandler(t, fsys, 0)
	fsys["index.html"] = &fstest.MapFile{Data: []byte("{{if}}")}
	if err := h.Reload(); err == nil || !strings.Contains(err.Error(), "index.html") {
		t.Fatalf("Reload of a broken template: err = %v", err)
	}
	if b := get(h, "/").Body.String(); b != "v1" {
		t.Fatalf("after failed Reload body %q, want v1", b)
	}
	fsys["index.html"] = &fstest.MapFile{Data: []byte("v2")}
	if err := h.Reload(); err != nil {
		t.Fatal(err)
	}
	if b := get(h, "/").Body.String(); b != "v2" {
		t.Fatalf("after Reload body %q, want v2", b)
	}
}

func TestConcurrentRenders(t *testing.T) {
	h := newHandler(t, files(site), 0)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			for j := range 50 {
				q := fmt.Sprintf("/echo.html?q=<%d-%d>", i, j)
				rec := get(h, q)
				if want := fmt.Sprintf("&lt;%d-%d&gt;", i, j); !strings.Contains(rec.Body.String(), want) {
					t.Errorf("GET %s body %q, want %q", q, rec.Body, want)
					return
				}
				if j%10 == 0 {
					if err := h.Reload(); err != nil {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
}
