package vigil_test

import (
	"bytes"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/demo"
)

func TestDemoPolish(t *testing.T) {
	_, addr := startLoopback(t, vigil.Config{UploadDir: t.TempDir()})
	base := "http://" + addr
	c := &http.Client{Timeout: 5 * time.Second}
	defer c.CloseIdleConnections()
	do := func(req *http.Request) (*http.Response, string) {
		t.Helper()
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	styled := func(t *testing.T, resp *http.Response, body string) {
		t.Helper()
		if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, `name="viewport"`) ||
			!strings.Contains(body, `href="/style.css"`) || !strings.Contains(body, `>Firmware</a>`) {
			t.Errorf("%d page is not styled like the rest: %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
		}
	}

	t.Run("every page has Firmware in the nav, marked on its own page", func(t *testing.T) {
		pages, _ := fs.Glob(demo.FS(), "*.html")
		for _, p := range pages {
			b, _ := fs.ReadFile(demo.FS(), p)
			marked := strings.Contains(string(b), `<a href="upgrade.html" aria-current="page">Firmware</a>`)
			if !strings.Contains(string(b), `>Firmware</a>`) || marked != (p == "upgrade.html") {
				t.Errorf("%s: Firmware link missing or wrongly marked", p)
			}
		}
	})
	t.Run("404 and 405 are pages of the demo, Allow kept", func(t *testing.T) {
		req, _ := http.NewRequest("GET", base+"/no/such/page", nil)
		resp, body := do(req)
		if resp.StatusCode != 404 {
			t.Errorf("GET a missing page = %d", resp.StatusCode)
		}
		styled(t, resp, body)
		req, _ = http.NewRequest("PUT", base+"/index.html", strings.NewReader("x"))
		resp, body = do(req)
		if resp.StatusCode != 405 || resp.Header.Get("Allow") == "" {
			t.Errorf("PUT a page = %d, Allow %q", resp.StatusCode, resp.Header.Get("Allow"))
		}
		styled(t, resp, body)
	})
	t.Run("network Save validates and answers", func(t *testing.T) {
		form := url.Values{"hostname": {"router-1"}, "mode": {"static"}, "address": {"192.0.2.10"}, "prefix": {"24"},
			"gateway": {"192.0.2.1"}, "dns1": {"192.0.2.53"}, "dns2": {""}}
		req, _ := http.NewRequest("POST", base+"/action/network", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body := do(req)
		if resp.StatusCode != 200 || !strings.Contains(body, "router-1") || !strings.Contains(body, "nothing was applied") {
			t.Errorf("a valid form = %d:\n%s", resp.StatusCode, body)
		}
		styled(t, resp, body)
		form.Set("hostname", "-bad-")
		form.Set("gateway", "300.1.1.1")
		req, _ = http.NewRequest("POST", base+"/action/network", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, body = do(req)
		if resp.StatusCode != 400 || !strings.Contains(body, "Host name:") || !strings.Contains(body, "Gateway:") {
			t.Errorf("an invalid form = %d:\n%s", resp.StatusCode, body)
		}
	})
	upload := func(content string) (*http.Response, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("image", "fw.bin")
		fw.Write([]byte(content))
		mw.Close()
		req, _ := http.NewRequest("POST", base+"/action/upgrade", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return do(req)
	}
	t.Run("the upload result is a page of the demo; an empty image is 400", func(t *testing.T) {
		resp, body := upload("firmware")
		if resp.StatusCode != 200 || !strings.Contains(body, "8 bytes") {
			t.Errorf("upload = %d:\n%s", resp.StatusCode, body)
		}
		styled(t, resp, body)
		resp, body = upload("")
		if resp.StatusCode != 400 || strings.Contains(body, "Image received") {
			t.Errorf("an empty upload = %d:\n%s", resp.StatusCode, body)
		}
		styled(t, resp, body)
	})
	t.Run("the logs page shows a URL of the host it came from", func(t *testing.T) {
		b, _ := fs.ReadFile(demo.FS(), "logs.html")
		js, _ := fs.ReadFile(demo.FS(), "app.js")
		if strings.Contains(string(b), "http://vigil-demo/") || !strings.Contains(string(b), `<span class="origin">`) ||
			!strings.Contains(string(js), `querySelectorAll(".origin")`) || !strings.Contains(string(js), "location.origin") {
			t.Error("the logs page's curl lines do not take the page's origin")
		}
	})
}
