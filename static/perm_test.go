package static

import (
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
)

// deniedFS refuses to open one file, as the kernel does for a file the
// server's user may not read.
type deniedFS struct {
	fs.FS
	name string
}

func (d deniedFS) Open(name string) (fs.File, error) {
	if name == d.name {
		return nil, &fs.PathError{Op: "open", Path: name, Err: syscall.EACCES}
	}
	return d.FS.Open(name)
}

func TestUnreadableFile(t *testing.T) {
	check := func(t *testing.T, fsys fs.FS, path string) {
		t.Helper()
		log, buf := logBuffer()
		w := do(New(fsys, Options{Logger: log}), httptest.NewRequest("GET", path, nil))
		if w.Code != 403 {
			t.Errorf("GET %s = %d, want 403", path, w.Code)
		}
		line := buf.String()
		if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "permission denied") || !strings.Contains(line, "path="+path) {
			t.Errorf("log line: %q, want a warning saying permission denied", line)
		}
	}
	t.Run("an unreadable file is a 403 and a warning saying why", func(t *testing.T) {
		check(t, deniedFS{fstest.MapFS{"secret.html": {Data: []byte("x")}}, "secret.html"}, "/secret.html")
	})
	t.Run("a real file of mode 000 on disk", func(t *testing.T) {
		if os.Geteuid() == 0 {
			t.Skip("root reads a file of mode 000; the fake FS above covers the error path")
		}
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "secret.html"), []byte("x"), 0)
		fsys, err := Dir(dir)
		if err != nil {
			t.Fatal(err)
		}
		check(t, fsys, "/secret.html")
	})
}

func TestHidden(t *testing.T) {
	fsys := fstest.MapFS{"partials/head.tmpl": {Data: []byte("{{.Secret}}")}, "page.html": {Data: []byte("<p>x</p>")}}
	t.Run("a template partial is never served as source", func(t *testing.T) {
		log, buf := logBuffer()
		w := do(New(fsys, Options{Logger: log}), httptest.NewRequest("GET", "/partials/head.tmpl", nil))
		if w.Code != 404 || strings.Contains(w.Body.String(), "Secret") {
			t.Errorf("GET a .tmpl = %d %q, want 404", w.Code, w.Body.String())
		}
		if !strings.Contains(buf.String(), "never served") {
			t.Errorf("log: %q", buf.String())
		}
		if w := do(New(fsys, Options{}), httptest.NewRequest("GET", "/page.html", nil)); w.Code != 200 {
			t.Errorf("GET page.html = %d", w.Code)
		}
	})
	t.Run("an empty Hidden serves every file", func(t *testing.T) {
		if w := do(New(fsys, Options{Hidden: []string{}}), httptest.NewRequest("GET", "/partials/head.tmpl", nil)); w.Code != 200 {
			t.Errorf("GET a .tmpl with Hidden empty = %d", w.Code)
		}
	})
}
