package vigil_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

// TestSlowDownloadCompletes downloads 100 MB at 1 MB/s, a client reading in
// 64 KiB bites 16 times a second, through a server whose stall timeout is
// 2 s: a total deadline would have cut it, progress deadlines must not. It
// takes 100 s; -short skips it.
func TestSlowDownloadCompletes(t *testing.T) {
	if testing.Short() {
		t.Skip("100 s at 1 MB/s; skipped with -short")
	}
	t.Parallel()
	const size = 100 << 20
	root := t.TempDir()
	f, err := os.Create(filepath.Join(root, "firmware.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	f.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := vigil.New(vigil.Config{Listeners: []net.Listener{ln}, Root: root, StallTimeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.(*net.TCPConn).SetReadBuffer(256 << 10)
	fmt.Fprintf(c, "GET /firmware.bin HTTP/1.1\r\nHost: dev\r\n\r\n")
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	tick := time.NewTicker(time.Second / 16)
	defer tick.Stop()
	buf := make([]byte, 64<<10)
	var got int64
	for got < size && time.Since(start) < 150*time.Second {
		<-tick.C
		n, err := io.ReadFull(resp.Body, buf[:min(int64(len(buf)), size-got)])
		got += int64(n)
		if err != nil {
			break
		}
	}
	took := time.Since(start)
	if got != size {
		t.Fatalf("got %d of %d bytes in %v: the slow download was cut", got, size, took.Round(time.Millisecond))
	}
	t.Logf("100 MB at %.2f MB/s completed in %v with a 2 s stall timeout", float64(size)/took.Seconds()/1e6, took.Round(time.Millisecond))
}

// TestCurlLimitRate downloads with curl --limit-rate, a client we did not
// write: after a fast start its receive buffer is many MiB, and its window
// stays closed for seconds at a time while it drains it, with nothing on
// the wire but window probes; its rate limiter also pauses for seconds
// after a burst. The governor must keep it alive at a 2 s stall timeout
// (the kernel's TCP_USER_TIMEOUT, were it the stall timeout, would abort
// it), over HTTP/1.1, HTTP/1.1+TLS and HTTP/2.
func TestCurlLimitRate(t *testing.T) {
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl not installed (apt-get install curl)")
	}
	var logs syncBuf
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	const size = 24 << 20 // past what the kernel buffers on loopback: the server's writes block
	root := t.TempDir()
	f, err := os.Create(filepath.Join(root, "fw.bin"))
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(size)
	f.Close()
	srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0", "https://127.0.0.1:0"}, TLSSelfSigned: filepath.Join(t.TempDir(), "tls"),
		Root: root, StallTimeout: 2 * time.Second, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() }) // after the parallel subtests
	plain, secure := srv.Addrs()[0].String(), srv.Addrs()[1].String()
	for _, mode := range []struct{ name, url, flag string }{
		{"HTTP/1.1", "http://" + plain + "/fw.bin", "--http1.1"},
		{"HTTP/1.1+TLS", "https://" + secure + "/fw.bin", "--http1.1"},
		{"HTTP/2", "https://" + secure + "/fw.bin", "--http2"},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			t0 := time.Now()
			// 3 MB/s: about 8 s, four stall timeouts.
			out, err := exec.CommandContext(ctx, curl, "-sS", "-k", mode.flag, "--limit-rate", "3M",
				"-o", "/dev/null", "-w", "%{size_download} %{http_version}", mode.url).CombinedOutput()
			if err != nil {
				t.Fatalf("curl --limit-rate 3M %s: %v: %s", mode.url, err, out)
			}
			var got int
			var version string
			fmt.Sscan(string(out), &got, &version)
			if got != size {
				t.Errorf("curl got %d of %d bytes (HTTP %s)", got, size, version)
			}
			t.Logf("%s: curl --limit-rate 3M got %d bytes over HTTP %s in %v with a 2 s stall timeout", mode.name, got, version, time.Since(t0).Round(time.Millisecond))
		})
	}
}
