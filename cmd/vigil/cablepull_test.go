package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/faultkit"
	"github.com/vigilhttp/vigil/faultkit/faulttest"
)

// TestConnsDuringCablePull runs "vigil conns" against a server whose client
// just vanished mid-download (a real cable pull: an nftables DROP of that
// connection in the client's network namespace) and checks that the stuck
// row is shown first, in phase write, with its cause in words.
func TestConnsDuringCablePull(t *testing.T) {
	faulttest.Need(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	link, err := faultkit.NewLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer link.Close()
	addr := netip.AddrPortFrom(link.ServerIP, 8080)
	ln, err := link.Server.Listen(ctx, "tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	big, err := os.Create(filepath.Join(root, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(64 << 20)
	big.Close()
	admin := "unix:" + filepath.Join(t.TempDir(), "admin.sock")
	srv, err := vigil.New(vigil.Config{
		Listeners:    []net.Listener{ln},
		Root:         root,
		StallTimeout: 10 * time.Second,
		Admin:        admin,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	c, err := link.Client.DialTCP(ctx, addr.String(), faultkit.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: dev\r\n\r\n")
	if _, err := io.CopyN(io.Discard, c, 1<<20); err != nil {
		t.Fatal(err)
	}
	// Keep reading, so that the window stays open until the cable goes:
	// the peer vanishes mid-transfer rather than stops reading.
	var reader sync.WaitGroup
	reader.Go(func() { io.Copy(io.Discard, c) })
	defer reader.Wait()
	defer c.Close()
	cut, err := faultkit.CutConn(ctx, link.Client, c)
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Restore(context.Background())
	time.Sleep(2 * time.Second)
	// A second client, in the middle of its header, so the table has a
	// row that is not stuck too.
	other, err := link.Client.DialTCP(ctx, addr.String(), faultkit.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	fmt.Fprintf(other, "GET / HTTP/1.1\r\n")
	time.Sleep(time.Second)

	var out, errOut bytes.Buffer
	if err := run(ctx, []string{"conns", "--admin", admin}, &out, &errOut); err != nil {
		t.Fatalf("vigil conns: %v\n%s", err, errOut.String())
	}
	t.Logf("vigil conns, 3 s after the cable pull:\n%s", out.String())
	lines := strings.Split(out.String(), "\n")
	if len(lines) < 3 {
		t.Fatalf("short output:\n%s", out.String())
	}
	first := lines[2] // after the summary and the header
	if !strings.Contains(first, "write") || !strings.Contains(first, "GET /big.bin") {
		t.Errorf("first row is not the stuck download in phase write: %q", first)
	}
	// Cut mid-flight the peer leaves data unacknowledged; cut at a closed
	// window it leaves window probes unanswered. Either way it is gone.
	if !strings.Contains(first, "probably gone") || !regexp.MustCompile(`\b3\.[0-4]s\b`).MatchString(first) {
		t.Errorf("stuck row does not say the peer is gone, 3 s without progress: %q", first)
	}

	var js bytes.Buffer
	if err := run(ctx, []string{"conns", "--admin", admin, "--json"}, &js, &errOut); err != nil || !strings.Contains(js.String(), `"conns"`) {
		t.Errorf("vigil conns --json: %v %q", err, js.String())
	}
}
