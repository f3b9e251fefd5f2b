package vigil

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
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
	srv, err := New(Config{Listeners: []net.Listener{ln}, Root: root, StallTimeout: 2 * time.Second})
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
