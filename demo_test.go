package vigil_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

func TestDemoUpgrade(t *testing.T) {
	t.Run("the demo's firmware form uploads, checks and reports an image", func(t *testing.T) {
		_, addr := startLoopback(t, vigil.Config{UploadDir: t.TempDir()})
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		fw, _ := mw.CreateFormFile("image", "<b>fw</b>.bin")
		fw.Write([]byte("firmware"))
		mw.Close()
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		req, _ := http.NewRequest("POST", "http://"+addr+"/action/upgrade", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// sha256("firmware")
		if resp.StatusCode != 200 || !strings.Contains(string(b), "8 bytes") || strings.Contains(string(b), "<b>fw") {
			t.Errorf("upgrade: %d %s", resp.StatusCode, b)
		}
		resp, err = c.Get("http://" + addr + "/upgrade.html")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("upgrade page: %d", resp.StatusCode)
		}
	})
}
