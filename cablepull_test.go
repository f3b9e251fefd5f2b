package vigil

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
	"github.com/vigilhttp/vigil/faultkit/faulttest"
	"github.com/vigilhttp/vigil/governor"
)

// Short bounds keep the cable-pull suite fast; each scenario must see the
// server's kernel socket gone within its phase's bound plus 2 s.
const (
	pullHeader = 2 * time.Second
	pullStall  = 2 * time.Second
	pullIdle   = 2 * time.Second
	pullSlack  = 2 * time.Second
)

// pullRig is vigil serving in one namespace of a Link, its peers in the other.
type pullRig struct {
	link *faultkit.Link
	srv  *Server
	addr netip.AddrPort // the server's address
	logs *syncBuf
}

func newPullRig(t *testing.T) *pullRig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, err := faultkit.NewLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
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
	big.Truncate(64 << 20) // sparse: served by sendfile
	big.Close()
	os.WriteFile(filepath.Join(root, "index.html"), []byte("<h1>probe</h1>\n"), 0o644)
	logs := &syncBuf{}
	srv, err := New(Config{
		Listeners:     []net.Listener{ln},
		Root:          root,
		HeaderTimeout: pullHeader,
		StallTimeout:  pullStall,
		IdleTimeout:   pullIdle,
		Logger:        slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &pullRig{link: link, srv: srv, addr: addr, logs: logs}
}

func (r *pullRig) dial(t *testing.T, opt faultkit.DialOptions) *net.TCPConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := r.link.Client.DialTCP(ctx, r.addr.String(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// cut pulls the cable of c and returns when it did.
func (r *pullRig) cut(t *testing.T, c net.Conn) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cut, err := faultkit.CutConn(ctx, r.link.Client, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cut.Restore(ctx)
	})
	return time.Now()
}

// probe checks that a fresh client is served, quickly, while the cut peer is
// pending.
func (r *pullRig) probe(t *testing.T) {
	t.Helper()
	c := r.dial(t, faultkit.DialOptions{})
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	t0 := time.Now()
	fmt.Fprintf(c, "GET /index.html HTTP/1.1\r\nHost: dev\r\nConnection: close\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("probe during the stall: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "<h1>probe</h1>\n" {
		t.Errorf("probe during the stall: %d %q", resp.StatusCode, body)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("probe during the stall took %v", d)
	}
}

// waitGone waits until the server's socket for c is gone (any state) and
// returns the time from the cut.
func (r *pullRig) waitGone(t *testing.T, c net.Conn, cutAt time.Time, bound time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), cutAt.Add(bound+3*time.Second))
	defer cancel()
	client := c.LocalAddr().(*net.TCPAddr).AddrPort()
	if _, err := faultkit.WaitGone(ctx, r.link.Server, r.addr, client); err != nil {
		t.Fatalf("server socket still there %v after the cut: %v", time.Since(cutAt).Round(time.Millisecond), err)
	}
	gone := time.Since(cutAt)
	if gone > bound+pullSlack {
		t.Errorf("server socket gone %v after the cut, want within %v", gone.Round(time.Millisecond), bound+pullSlack)
	}
	return gone
}

func (r *pullRig) wantClosed(t *testing.T, causes ...governor.Cause) {
	t.Helper()
	st := r.srv.Governor().Stats()
	var n uint64
	for _, c := range causes {
		n += st.Closed[c]
	}
	if n != 1 {
		t.Errorf("closes %v, want one for %v", st.Closed, causes)
	}
}

// TestCablePull pulls a real cable (an nftables DROP of one connection in the
// client's network namespace: no FIN, no RST, no ACK) in each phase and
// checks that the server's kernel socket is gone in time while other clients
// are served.
func TestCablePull(t *testing.T) {
	faulttest.Need(t)

	t.Run("mid-download", func(t *testing.T) {
		t.Parallel()
		r := newPullRig(t)
		c := r.dial(t, faultkit.DialOptions{})
		fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: dev\r\n\r\n")
		if _, err := io.CopyN(io.Discard, c, 1<<20); err != nil {
			t.Fatal(err)
		}
		cutAt := r.cut(t, c)
		r.probe(t)
		gone := r.waitGone(t, c, cutAt, pullStall)
		t.Logf("cable pull mid-download: server socket gone %.2fs after the cut (stall timeout %v)", gone.Seconds(), pullStall)
		r.wantClosed(t, governor.CauseStall, governor.CauseDeadPeer)
	})

	t.Run("zero window", func(t *testing.T) {
		t.Parallel()
		r := newPullRig(t)
		c := r.dial(t, faultkit.DialOptions{RecvBuf: 4 << 10})
		fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: dev\r\n\r\n")
		if _, err := io.CopyN(io.Discard, c, 64<<10); err != nil {
			t.Fatal(err)
		}
		time.Sleep(300 * time.Millisecond) // the client's window closes
		cutAt := r.cut(t, c)
		r.probe(t)
		gone := r.waitGone(t, c, cutAt, pullStall)
		t.Logf("cable pull at zero window: server socket gone %.2fs after the cut (stall timeout %v)", gone.Seconds(), pullStall)
		r.wantClosed(t, governor.CauseStall, governor.CauseDeadPeer)
	})

	t.Run("half-sent header", func(t *testing.T) {
		t.Parallel()
		r := newPullRig(t)
		c := r.dial(t, faultkit.DialOptions{})
		fmt.Fprintf(c, "GET /index.html HTTP/1.1\r\nHost: dev\r\n")
		cutAt := r.cut(t, c)
		r.probe(t)
		gone := r.waitGone(t, c, cutAt, pullHeader)
		t.Logf("cable pull mid-header: server socket gone %.2fs after the cut (header timeout %v)", gone.Seconds(), pullHeader)
		r.wantClosed(t, governor.CauseHeaderTimeout)
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		t.Parallel()
		r := newPullRig(t)
		c := r.dial(t, faultkit.DialOptions{})
		c.SetDeadline(time.Now().Add(2 * time.Second))
		fmt.Fprintf(c, "GET /index.html HTTP/1.1\r\nHost: dev\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		cutAt := r.cut(t, c)
		r.probe(t)
		// At the idle expiry the keepalive probes sent meanwhile are
		// unanswered: the peer is gone, and the close is abortive (no
		// orphan waits for its FIN to be acknowledged).
		gone := r.waitGone(t, c, cutAt, pullIdle)
		t.Logf("cable pull while idle: server socket gone %.2fs after the cut (idle %v)", gone.Seconds(), pullIdle)
		r.wantClosed(t, governor.CauseDeadPeer)
	})
}

// syncBuf is a concurrency-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
