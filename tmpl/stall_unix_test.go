//go:build unix

package tmpl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"
)

// TestStalledReaderBlocksNoOne shows a client that asks for a large page and
// never reads does not delay another client.
func TestStalledReaderBlocksNoOne(t *testing.T) {
	const size = 2 << 20
	started := make(chan struct{})
	largeDone := make(chan struct{})
	h := newHandler(t, files(map[string]string{
		"large.html": fmt.Sprintf("{{big %d}}", size),
		"small.html": "small",
	}), 0)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/large.html" {
			h.ServeHTTP(w, r)
			return
		}
		close(started)
		defer close(largeDone)
		h.ServeHTTP(w, r)
	}))
	// Small fixed socket buffers (no autotuning) so that the large page
	// cannot fit in the kernel and its Write really blocks.
	srv.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
		c.(*net.TCPConn).SetWriteBuffer(16 << 10)
		return ctx
	}
	srv.Start()
	defer srv.Close()

	d := net.Dialer{Timeout: 5 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 16<<10)
		})
		return errors.Join(err, serr)
	}}
	stalled, err := d.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer stalled.Close()
	if _, err := io.WriteString(stalled, "GET /large.html HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-started:
	case <-time.After(5 * time.Second):
		t.Fatal("large page was never requested")
	}
	time.Sleep(100 * time.Millisecond) // let the server fill the socket buffers and block in Write

	client := &http.Client{Timeout: 5 * time.Second}
	start := time.Now()
	resp, err := client.Get(srv.URL + "/small.html")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	took := time.Since(start)
	if err != nil || string(body) != "small" {
		t.Fatalf("small page: %q, %v", body, err)
	}
	if took >= 500*time.Millisecond {
		t.Fatalf("small page took %v while another client stalled, want < 500ms", took)
	}
	select {
	case <-largeDone:
		t.Fatal("large page was fully written: the test did not stall its reader")
	default:
	}

	// Once the stalled client reads, it gets the whole page.
	stalled.SetReadDeadline(time.Now().Add(5 * time.Second))
	lr, err := http.ReadResponse(bufio.NewReader(stalled), nil)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, lr.Body)
	if err != nil || n != size || lr.ContentLength != size {
		t.Fatalf("large page: read %d of Content-Length %d, want %d: %v", n, lr.ContentLength, size, err)
	}
}
