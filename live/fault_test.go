package live

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
	"github.com/vigilhttp/vigil/faultkit/faulttest"
	"github.com/vigilhttp/vigil/governor"
	"go.uber.org/goleak"
)

// netRig is a rig serving in the server namespace of a faultkit Link,
// its clients in the other.
type netRig struct {
	*rig
	link *faultkit.Link
	ap   netip.AddrPort
}

func newNetRig(t *testing.T, ro rigOptions) *netRig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, err := faultkit.NewLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	ap := netip.AddrPortFrom(link.ServerIP, 8080)
	ln, err := link.Server.Listen(ctx, "tcp", ap.String())
	if err != nil {
		t.Fatal(err)
	}
	return &netRig{rig: newRig(t, ln, ro), link: link, ap: ap}
}

func (r *netRig) dial(t *testing.T, opt faultkit.DialOptions) *net.TCPConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := r.link.Client.DialTCP(ctx, r.ap.String(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func (r *netRig) cut(t *testing.T, c net.Conn) time.Time {
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

// gone waits until the server's socket for c is gone and checks it went
// within bound of from.
func (r *netRig) gone(t *testing.T, c net.Conn, from time.Time, bound time.Duration) time.Duration {
	t.Helper()
	ctx, cancel := context.WithDeadline(context.Background(), from.Add(bound+3*time.Second))
	defer cancel()
	client := c.LocalAddr().(*net.TCPAddr).AddrPort()
	if _, err := faultkit.WaitGone(ctx, r.link.Server, r.ap, client); err != nil {
		t.Fatalf("server socket still there %v later: %v", time.Since(from).Round(time.Millisecond), err)
	}
	d := time.Since(from)
	if d > bound {
		t.Errorf("server socket gone after %v, want within %v", d.Round(time.Millisecond), bound)
	}
	return d
}

// pusher sends 64 KiB binary messages until the socket closes.
func pusher(c *Conn) {
	msg := make([]byte, 64<<10)
	for c.Write(c.Context(), MessageBinary, msg) == nil {
	}
}

// TestFaults pulls real cables (an nftables DROP of one connection in the
// client's namespace) and stops clients, over HTTP/1.1 and TLS, and
// checks each WebSocket is gone within its bound.
func TestFaults(t *testing.T) {
	faulttest.Need(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	modes(t, func(t *testing.T, secure bool) {
		t.Run("cable pulled on an idle socket: gone within ping + pong timeout + 1 s", func(t *testing.T) {
			r := newNetRig(t, rigOptions{tls: secure, ws: Options{Ping: testPing, PongTimeout: testPong}})
			nc := r.dial(t, faultkit.DialOptions{})
			c, _ := wsUpgrade(t, nc, secure, "/ws", "")
			go c.until(true, 10*time.Second) // an alive client, until the cable goes
			time.Sleep(1500 * time.Millisecond)
			at := r.cut(t, nc)
			d := r.gone(t, nc, at, testPing+testPong+time.Second)
			t.Logf("idle, cable pulled: server socket gone after %v", d.Round(time.Millisecond))
			waitCause(t, r.tab, governor.CausePongTimeout)
		})
		t.Run("cable pulled while the server pushes: gone within stall + 1 s", func(t *testing.T) {
			// Pings far apart: the stall rule alone must find it.
			r := newNetRig(t, rigOptions{tls: secure, fn: pusher, ws: Options{Ping: time.Minute, PongTimeout: time.Minute}})
			nc := r.dial(t, faultkit.DialOptions{})
			c, _ := wsUpgrade(t, nc, secure, "/ws", "")
			go c.until(true, 10*time.Second)
			time.Sleep(500 * time.Millisecond)
			at := r.cut(t, nc)
			d := r.gone(t, nc, at, testStall+time.Second)
			t.Logf("pushing, cable pulled: server socket gone after %v", d.Round(time.Millisecond))
			st := r.tab.Stats().WebSockets.Closed
			if st[governor.CauseStall]+st[governor.CauseDeadPeer] != 1 {
				t.Errorf("websocket closes %v, want one stall or dead-peer", st)
			}
		})
		for _, tc := range []struct {
			name  string
			read  int64         // bytes the client reads before it stops
			bound time.Duration // from the stop
		}{
			// A peer that holds at most 1 MiB of acknowledged data is cut at
			// the stall timeout.
			{"a client that stops reading while the server pushes 64 KiB messages: cut within stall + 1 s, memory bounded", 256 << 10, testStall + time.Second},
			// One that read much first may be a slow reader draining a big
			// receive buffer, as far as the governor can tell: it gets the
			// zero-window allowance (governor.Options.ZeroWindowTimeout,
			// 4 × stall by default).
			{"a client that stops after reading 64 MiB: cut within 4 × stall + 1 s (the governor's zero-window allowance), memory bounded", 64 << 20, 4*testStall + time.Second},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := newNetRig(t, rigOptions{tls: secure, fn: pusher, ws: Options{Ping: time.Minute, PongTimeout: time.Minute}})
				nc := r.dial(t, faultkit.DialOptions{RecvBuf: 64 << 10})
				c, _ := wsUpgrade(t, nc, secure, "/ws", "")
				c.nc.SetReadDeadline(time.Now().Add(5 * time.Second))
				var n int64
				for n < tc.read {
					_, p, err := c.frame()
					if err != nil {
						t.Fatal(err)
					}
					n += int64(len(p))
				}
				// Stopped: SIGSTOP-like, its kernel still answers probes.
				var before runtime.MemStats
				runtime.ReadMemStats(&before)
				at := time.Now()
				d := r.gone(t, nc, at, tc.bound)
				var after runtime.MemStats
				runtime.ReadMemStats(&after)
				t.Logf("stopped after %d KiB: server socket gone after %v; heap in use %d → %d KiB", n>>10, d.Round(time.Millisecond), before.HeapInuse>>10, after.HeapInuse>>10)
				if after.HeapInuse > before.HeapInuse+4<<20 {
					t.Errorf("heap grew %d KiB while the peer was stopped", (after.HeapInuse-before.HeapInuse)>>10)
				}
				st := r.tab.Stats().WebSockets.Closed
				if st[governor.CauseStall] != 1 {
					t.Errorf("websocket closes %v, want one stall", st)
				}
			})
		}
	})
}
