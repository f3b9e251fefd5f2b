package vigil_test

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

// BenchmarkFirmwareUpload posts a 100 MB multipart firmware image over
// loopback to a handler=upload route: streamed to disk, hashed, handed to
// an action. Run: go test -run '^$' -bench FirmwareUpload -benchtime 3x .
func BenchmarkFirmwareUpload(b *testing.B) {
	const size = 100 << 20
	dir := b.TempDir()
	os.WriteFile(filepath.Join(dir, "route.txt"), []byte("route uri=/action/upgrade methods=POST handler=upload limit-body=128MiB\nroute uri=/\n"), 0o644)
	cfg := vigil.Config{Root: dir, Route: filepath.Join(dir, "route.txt"), UploadDir: filepath.Join(dir, "up")}
	srv, addr := startLoopback(b, cfg)
	srv.Action("upgrade", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if res := vigil.Uploaded(r); res == nil || res.Files[0].Size != size {
			http.Error(w, "bad", 500)
		}
	}))
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("image", "fw.bin")
	fw.Write(bytes.Repeat([]byte{0x5a}, size))
	mw.Close()
	body := buf.Bytes()
	c := &http.Client{Timeout: 2 * time.Minute}
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		req, _ := http.NewRequest("POST", "http://"+addr+"/action/upgrade", bytes.NewReader(body))
		req.Header.Set("Content-Type", mw.FormDataContentType())
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
	c.CloseIdleConnections()
}
