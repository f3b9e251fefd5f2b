package demo_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/demo"
	"github.com/vigilhttp/vigil/static"
)

// TestServedByStatic serves the demo UI through package static over a real
// loopback connection, the way vigil serves it by default.
func TestServedByStatic(t *testing.T) {
	srv := httptest.NewServer(static.New(demo.FS(), static.Options{}))
	t.Cleanup(srv.Close)
	c := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	t.Cleanup(c.CloseIdleConnections)
	tests := []struct {
		name     string
		method   string
		path     string
		kv       []string
		want     int
		header   map[string]string
		bodyHas  string
		bodySize int // -1: not checked
	}{
		{"the dashboard is served", "GET", "/", nil, http.StatusOK,
			map[string]string{"Content-Type": "text/html; charset=utf-8", "Vary": "Accept-Encoding"}, "Dashboard", -1},
		{"the dashboard is served precompressed", "GET", "/", []string{"Accept-Encoding", "gzip"}, http.StatusOK,
			map[string]string{"Content-Encoding": "gzip", "Content-Type": "text/html; charset=utf-8"}, "", -1},
		{"the status data is JSON", "GET", "/status.json", nil, http.StatusOK,
			map[string]string{"Content-Type": "application/json"}, `"interfaces"`, -1},
		{"the script is JavaScript", "GET", "/app.js", nil, http.StatusOK,
			map[string]string{"Content-Type": "text/javascript; charset=utf-8"}, "status.json", -1},
		{"the log has its full length on HEAD", "HEAD", "/logs/system.log", nil, http.StatusOK,
			map[string]string{"Content-Length": strconv.Itoa(demo.LogSize), "Content-Type": "text/plain; charset=utf-8",
				"Last-Modified": "Wed, 25 Nov 2026 00:00:00 GMT", "Accept-Ranges": "bytes"}, "", 0},
		{"the end of the log is a range", "GET", "/logs/system.log", []string{"Range", "bytes=-256"}, http.StatusPartialContent,
			map[string]string{"Content-Range": "bytes " + strconv.Itoa(demo.LogSize-256) + "-" + strconv.Itoa(demo.LogSize-1) + "/" + strconv.Itoa(demo.LogSize)},
			"2026-12-01T01:38:0", 256},
		{"logs redirects to logs/", "GET", "/logs", nil, http.StatusMovedPermanently,
			map[string]string{"Location": "logs/"}, "", -1},
		{"logs/ has no listing", "GET", "/logs/", nil, http.StatusNotFound, nil, "404 page not found", -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(tt.kv); i += 2 {
				req.Header.Set(tt.kv[i], tt.kv[i+1])
			}
			resp, err := c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.want)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if !strings.Contains(string(body), tt.bodyHas) {
				t.Errorf("body does not contain %q", tt.bodyHas)
			}
			if tt.bodySize >= 0 && len(body) != tt.bodySize {
				t.Errorf("body has %d bytes, want %d", len(body), tt.bodySize)
			}
		})
	}
}
