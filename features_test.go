package vigil_test

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/upload"
)

func TestDeviceFeatures(t *testing.T) {
	dir := t.TempDir()
	web := filepath.Join(dir, "web")
	os.MkdirAll(filepath.Join(web, "files"), 0o755)
	os.MkdirAll(filepath.Join(web, "pages"), 0o755)
	os.WriteFile(filepath.Join(web, "pages", "hello.html"), []byte(`<p>{{greet}} {{.Request.URL.Query.Get "name"}}</p>`), 0o644)
	uploads := filepath.Join(dir, "uploads")
	firmware := filepath.Join(dir, "firmware.bin")
	os.MkdirAll(filepath.Join(web, "cgi-bin"), 0o755)
	os.WriteFile(filepath.Join(web, "cgi-bin", "show"), []byte("#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\n'\nenv\n"), 0o755)
	os.WriteFile(filepath.Join(web, "cgi-bin", "mute"), []byte("#!/bin/sh\nsleep 30\n"), 0o755)
	routes := `route uri=/action/upgrade methods=POST handler=upload limit-body=1MiB
route uri=/files/ methods=GET|PUT|DELETE
route uri=/
`
	if tmplBuilt { // not with -tags notmpl
		routes = "route uri=/pages/ handler=tmpl\n" + routes
	}
	if cgiBuilt { // not with -tags nocgi
		routes = "route uri=/cgi-bin handler=cgi handler-timeout=1s\n" + routes
	}
	os.WriteFile(filepath.Join(dir, "route.txt"), []byte(routes), 0o644)
	srv, addr := startLoopback(t, vigil.Config{Root: web, Route: filepath.Join(dir, "route.txt"), UploadDir: uploads,
		TemplateFuncs: template.FuncMap{"greet": func() string { return "hello" }}})
	srv.Action("upgrade", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := vigil.Uploaded(r)
		if res == nil || len(res.Files) != 1 {
			http.Error(w, "no image", http.StatusBadRequest)
			return
		}
		if err := upload.MoveTo(res.Files[0], firmware); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprintf(w, "image %d bytes sha256 %s", res.Files[0].Size, res.Files[0].SHA256)
	}))
	base := "http://" + addr
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	do := func(method, path string, body io.Reader, ctype string) (int, string) {
		req, _ := http.NewRequest(method, base+path, body)
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	multipartBody := func(size int) (io.Reader, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("image", "../../fw.bin")
		fw.Write(bytes.Repeat([]byte{0xAB}, size))
		mw.Close()
		return &buf, mw.FormDataContentType()
	}

	t.Run("a firmware image is streamed to disk and handed to the action", func(t *testing.T) {
		body, ct := multipartBody(300 << 10)
		code, text := do("POST", "/action/upgrade", body, ct)
		if code != 200 || !strings.Contains(text, "image 307200 bytes") {
			t.Fatalf("upgrade: %d %q", code, text)
		}
		if fi, err := os.Stat(firmware); err != nil || fi.Size() != 300<<10 {
			t.Errorf("firmware on disk: %v %v", fi, err)
		}
		if left, _ := os.ReadDir(uploads); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})

	t.Run("an image over the route's limit is a 413 and leaves nothing on disk", func(t *testing.T) {
		body, ct := multipartBody(2 << 20)
		if code, _ := do("POST", "/action/upgrade", body, ct); code != 413 {
			t.Errorf("oversize: %d, want 413", code)
		}
		if left, _ := os.ReadDir(uploads); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})

	t.Run("malformed multipart is a 400 and leaves nothing on disk", func(t *testing.T) {
		code, _ := do("POST", "/action/upgrade", strings.NewReader("--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nno end"), "multipart/form-data; boundary=x")
		if code != 400 {
			t.Errorf("malformed: %d, want 400", code)
		}
		if left, _ := os.ReadDir(uploads); len(left) != 0 {
			t.Errorf("temporary files left: %v", left)
		}
	})

	t.Run("PUT writes atomically, DELETE removes, traversal is refused", func(t *testing.T) {
		if code, _ := do("PUT", "/files/a.txt", strings.NewReader("one"), ""); code != 201 {
			t.Errorf("PUT new: %d, want 201", code)
		}
		if code, _ := do("PUT", "/files/a.txt", strings.NewReader("two"), ""); code != 204 {
			t.Errorf("PUT replace: %d, want 204", code)
		}
		if code, body := do("GET", "/files/a.txt", nil, ""); code != 200 || body != "two" {
			t.Errorf("GET after PUT: %d %q", code, body)
		}
		if code, _ := do("PUT", "/files/../../escape.txt", strings.NewReader("x"), ""); code < 400 {
			t.Errorf("PUT with ..: %d, want refused", code)
		}
		if _, err := os.Stat(filepath.Join(dir, "escape.txt")); err == nil {
			t.Error("a file was written outside the root")
		}
		if code, _ := do("PUT", "/other.txt", strings.NewReader("x"), ""); code != 405 {
			t.Errorf("PUT outside a PUT route: %d, want 405", code)
		}
		if code, _ := do("DELETE", "/files/a.txt", nil, ""); code != 204 {
			t.Errorf("DELETE: %d, want 204", code)
		}
	})

	t.Run("CGI gets an environment built from scratch, and a silent child is cut", func(t *testing.T) {
		if !cgiBuilt {
			t.Skip("built with -tags nocgi")
		}
		req, _ := http.NewRequest("GET", base+"/cgi-bin/show/extra?LD_PRELOAD=/proc/self/fd/0", nil)
		req.Header.Set("X-Test", "yes")
		req.SetBasicAuth("u", "p")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		env := string(b)
		if resp.StatusCode != 200 || !strings.Contains(env, "PATH_INFO=/extra") || !strings.Contains(env, "HTTP_X_TEST=yes") ||
			!strings.Contains(env, "QUERY_STRING=LD_PRELOAD") {
			t.Fatalf("CGI: %d\n%s", resp.StatusCode, env)
		}
		for _, line := range strings.Split(env, "\n") {
			if strings.HasPrefix(line, "LD_") || strings.HasPrefix(line, "HTTP_AUTHORIZATION") {
				t.Errorf("CGI environment has %q", line)
			}
		}
		t0 := time.Now()
		if code, _ := do("GET", "/cgi-bin/mute", nil, ""); code != 502 || time.Since(t0) > 5*time.Second {
			t.Errorf("silent CGI: %d after %v, want 502 within the run timeout", code, time.Since(t0))
		}
	})

	t.Run("a template page renders with the program's functions, escaped", func(t *testing.T) {
		if !tmplBuilt {
			t.Skip("built with -tags notmpl")
		}
		code, body := do("GET", "/pages/hello.html?name=%3Cscript%3E", nil, "")
		if code != 200 || body != "<p>hello &lt;script&gt;</p>" {
			t.Errorf("page: %d %q", code, body)
		}
	})
}
