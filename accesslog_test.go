package vigil

import (
	"bytes"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/httpd"
)

func TestAccessLog(t *testing.T) {
	start := time.Date(2026, 11, 25, 13, 55, 36, 0, time.UTC)
	tests := []struct {
		name string
		req  func() *httpdDone
		want string
	}{
		{"a request becomes one Combined Log Format line with duration and body bytes", func() *httpdDone {
			r := httptest.NewRequest("GET", "/status.html?x=1", nil)
			r.RemoteAddr = "198.18.0.2:5555"
			r.Header.Set("Referer", "http://dev/")
			r.Header.Set("User-Agent", "curl/8")
			return &httpdDone{Request: r, Status: 200, BytesOut: 1234, Start: start, Duration: 1500 * time.Microsecond}
		}, `198.18.0.2 - - [25/Nov/2026:13:55:36 +0000] "GET /status.html?x=1 HTTP/1.1" 200 1234 "http://dev/" "curl/8" 1500 0` + "\n"},
		{"quotes and control bytes in fields cannot forge a line", func() *httpdDone {
			r := httptest.NewRequest("POST", "/up", nil)
			r.RemoteAddr = "[::1]:1"
			r.Header.Set("User-Agent", "evil\"\n198.18.0.9 - - [x] \"GET /")
			r.SetBasicAuth("ad\"min", "pw")
			return &httpdDone{Request: r, Status: 413, Start: start, BytesIn: 99}
		}, `::1 - ad\"min [25/Nov/2026:13:55:36 +0000] "POST /up HTTP/1.1" 413 0 "-" "evil\"\x0a198.18.0.9 - - [x] \"GET /" 0 99` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(appendAccess(nil, *tt.req()))
			if got != tt.want {
				t.Errorf("line\n got %q\nwant %q", got, tt.want)
			}
		})
	}

	t.Run("a writer that blocks drops lines instead of blocking requests", func(t *testing.T) {
		blocked := make(chan struct{})
		w := writerFunc(func(p []byte) (int, error) { <-blocked; return len(p), nil })
		a := newAccessLog(w)
		r := httptest.NewRequest("GET", "/", nil)
		t0 := time.Now()
		for i := 0; i < accessQueue+5000; i++ {
			a.log(httpd.Done{Request: r, Status: 200, Start: start})
		}
		if d := time.Since(t0); d > 2*time.Second {
			t.Errorf("logging %d lines to a stuck writer took %v", accessQueue+5000, d)
		}
		if a.dropped.Load() == 0 {
			t.Error("no line dropped with a stuck writer")
		}
		close(blocked)
		a.close(2 * time.Second)
	})

	t.Run("a pipe nobody reads does not hold the writer past its deadline", func(t *testing.T) {
		pr, pw, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		defer pw.Close()
		a := newAccessLog(pw)
		r := httptest.NewRequest("GET", "/"+strings.Repeat("x", 1000), nil)
		for i := 0; i < 200; i++ { // 200 KB: more than a pipe buffer holds
			a.log(httpd.Done{Request: r, Status: 200, Start: start})
		}
		t0 := time.Now()
		a.close(2 * accessWriteTimeout)
		select {
		case <-a.done:
		default:
			t.Fatalf("writer goroutine still blocked %v after close", time.Since(t0))
		}
	})

	t.Run("lines reach the writer and close flushes them", func(t *testing.T) {
		var buf bytes.Buffer
		a := newAccessLog(&buf)
		r := httptest.NewRequest("GET", "/a", nil)
		a.log(httpd.Done{Request: r, Status: 204, Start: start})
		a.close(2 * time.Second)
		a.log(httpd.Done{Request: r, Status: 204, Start: start}) // after close: ignored
		if n := strings.Count(buf.String(), "\n"); n != 1 {
			t.Errorf("%d lines written, want 1: %q", n, buf.String())
		}
	})
}

type httpdDone = httpd.Done

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
