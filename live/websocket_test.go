package live

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"go.uber.org/goleak"
)

func TestWebSocket(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	modes(t, func(t *testing.T, secure bool) {
		t.Run("an alive idle socket outlives the handler timeout and 5 pings, and shows in the table", func(t *testing.T) {
			r := newRig(t, loopback(t), rigOptions{tls: secure, ws: Options{Ping: 200 * time.Millisecond, PongTimeout: 300 * time.Millisecond}})
			nc := dialRaw(t, r.addr)
			c, resp := wsUpgrade(t, nc, secure, "/ws", "")
			if resp.StatusCode != http.StatusSwitchingProtocols {
				t.Fatalf("upgrade: %s", resp.Status)
			}
			done := make(chan error, 1)
			go func() { _, _, err := c.until(true, 1200*time.Millisecond); done <- err }()
			<-done // a read deadline: the socket lived 1.2 s = 6 pings, past the 0.5 s handler timeout
			row := r.row(nc.LocalAddr().String())
			if row == nil || row.Phase != governor.PhaseWebSocket || row.Socket == nil {
				t.Fatalf("row = %+v, want phase websocket with a Socket", row)
			}
			if row.Socket.PongRTT <= 0 || row.Socket.SincePong > 400*time.Millisecond {
				t.Fatalf("socket = %+v: want a pong round trip, and a pong within the last ping", *row.Socket)
			}
			if err := c.send(opText, []byte("hello"), false); err != nil {
				t.Fatal(err)
			}
			c.nc.SetReadDeadline(time.Now().Add(2 * time.Second))
			for {
				op, p, err := c.frame()
				if err != nil {
					t.Fatalf("echo after 6 pings: %v", err)
				}
				if op == opPing {
					c.send(opPong, p, false)
					continue
				}
				if op != opText || string(p) != "hello" {
					t.Fatalf("echo = %x %q", op, p)
				}
				break
			}
			// The echo is counted once the server's write returns, which
			// may be after the client has read it.
			for deadline := time.Now().Add(time.Second); ; time.Sleep(10 * time.Millisecond) {
				row = r.row(nc.LocalAddr().String())
				if row.Socket.MessagesOut == 1 || time.Now().After(deadline) {
					break
				}
			}
			if row.Socket.MessagesIn != 1 || row.Socket.MessagesOut != 1 {
				t.Fatalf("socket = %+v, want 1 message in and 1 out", *row.Socket)
			}
		})
		t.Run("a client that keeps TCP alive but answers no ping is sent 1001 and reset at the pong timeout", func(t *testing.T) {
			r := newRig(t, loopback(t), rigOptions{tls: secure, ws: Options{Ping: testPing, PongTimeout: testPong}})
			nc := dialRaw(t, r.addr)
			c, _ := wsUpgrade(t, nc, secure, "/ws", "")
			start := time.Now()
			code, at, err := c.until(false, 5*time.Second)
			if err != nil || code != 1001 {
				t.Fatalf("close = %d, %v; want 1001", code, err)
			}
			end, err := waitEOF(c.nc, c.br, 3*time.Second)
			got := end.Sub(start)
			t.Logf("silent client: close 1001 after %v, connection gone after %v (%v)", at.Sub(start).Round(time.Millisecond), got.Round(time.Millisecond), err)
			if want := testPing + testPong; got < want || got > want+time.Second {
				t.Fatalf("gone after %v, want within [%v, %v]", got, want, want+time.Second)
			}
			if !secure && (err == nil || !strings.Contains(err.Error(), "reset")) {
				t.Fatalf("end = %v, want a reset", err)
			}
			waitCause(t, r.tab, governor.CausePongTimeout)
		})
		t.Run("a frame header declaring 1 GiB is closed 1009 at once, none of it read", func(t *testing.T) {
			r := newRig(t, loopback(t), rigOptions{tls: secure})
			nc := dialRaw(t, r.addr)
			c, _ := wsUpgrade(t, nc, secure, "/ws", "")
			var before runtime.MemStats
			runtime.ReadMemStats(&before)
			c.mu.Lock()
			c.sendHeader(opBinary, 1<<30, nil, false)
			c.mu.Unlock()
			start := time.Now()
			code, at, err := c.until(true, 3*time.Second)
			if err != nil || code != 1009 {
				t.Fatalf("close = %d, %v; want 1009", code, err)
			}
			var after runtime.MemStats
			runtime.ReadMemStats(&after)
			t.Logf("1 GiB header: 1009 after %v; heap %d → %d KiB", at.Sub(start).Round(time.Millisecond), before.HeapAlloc>>10, after.HeapAlloc>>10)
			if at.Sub(start) > 500*time.Millisecond {
				t.Fatalf("1009 after %v: the header alone must decide", at.Sub(start))
			}
			if after.TotalAlloc-before.TotalAlloc > 4<<20 {
				t.Fatalf("allocated %d bytes meanwhile", after.TotalAlloc-before.TotalAlloc)
			}
		})
		t.Run("a message over max-message in fragments is closed 1009", func(t *testing.T) {
			r := newRig(t, loopback(t), rigOptions{tls: secure, ws: Options{MaxMessage: 1000}})
			nc := dialRaw(t, r.addr)
			c, _ := wsUpgrade(t, nc, secure, "/ws", "")
			c.mu.Lock()
			c.nc.Write(maskedFrame(opText, false, make([]byte, 600)))
			c.nc.Write(maskedFrame(opContinuation, true, make([]byte, 600)))
			c.mu.Unlock()
			if code, _, err := c.until(true, 3*time.Second); err != nil || code != 1009 {
				t.Fatalf("close = %d, %v; want 1009", code, err)
			}
		})
		t.Run("an unmasked frame is closed 1002", func(t *testing.T) {
			r := newRig(t, loopback(t), rigOptions{tls: secure})
			nc := dialRaw(t, r.addr)
			c, _ := wsUpgrade(t, nc, secure, "/ws", "")
			c.send(opText, []byte("x"), true)
			if code, _, err := c.until(true, 3*time.Second); err != nil || code != 1002 {
				t.Fatalf("close = %d, %v; want 1002", code, err)
			}
		})
		t.Run("shutdown sends 1001 to every socket and waits for them", func(t *testing.T) {
			r := newRig(t, loopback(t), rigOptions{tls: secure})
			var cs []*rawWS
			for range 3 {
				c, _ := wsUpgrade(t, dialRaw(t, r.addr), secure, "/ws", "")
				cs = append(cs, c)
			}
			codes := make(chan int, len(cs))
			for _, c := range cs {
				go func() {
					code, _, _ := c.until(true, 3*time.Second)
					c.send(opClose, []byte{0x03, 0xe9}, false) // the client's answer
					codes <- code
				}()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			start := time.Now()
			if err := r.hub.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			t.Logf("shutdown of 3 sockets took %v", time.Since(start).Round(time.Millisecond))
			for range cs {
				if code := <-codes; code != 1001 {
					t.Fatalf("close = %d, want 1001", code)
				}
			}
			_, resp := wsUpgrade(t, dialRaw(t, r.addr), secure, "/ws", "")
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("upgrade after shutdown: %s, want 503", resp.Status)
			}
		})
	})
}

func TestUpgradeRefused(t *testing.T) {
	r := newRig(t, loopback(t), rigOptions{ws: Options{MaxConns: 1}})
	for _, tc := range []struct {
		name, req string
		want      int
	}{
		{"no Upgrade header is 426", "GET /ws HTTP/1.1\r\nHost: dev\r\nConnection: keep-alive\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 426},
		{"HTTP/1.0 is 426", "GET /ws HTTP/1.0\r\nHost: dev\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 426},
		{"a wrong version is 400", "GET /ws HTTP/1.1\r\nHost: dev\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n", 400},
		{"a foreign Origin is 403", "GET /ws HTTP/1.1\r\nHost: dev\r\nOrigin: https://evil.example\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nc := dialRaw(t, r.addr)
			nc.SetDeadline(time.Now().Add(2 * time.Second))
			nc.Write([]byte(tc.req))
			resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
			if err != nil || resp.StatusCode != tc.want {
				t.Fatalf("response %v, %v; want %d", resp, err, tc.want)
			}
		})
	}
	if !strings.Contains(r.logs.String(), "live: upgrade refused") {
		t.Fatal("no Debug line for the refused upgrades")
	}
	t.Run("an upgrade beyond max-ws is 503, and the cap frees when a socket closes", func(t *testing.T) {
		first := dialRaw(t, r.addr)
		c, resp := wsUpgrade(t, first, false, "/ws", "")
		if resp.StatusCode != 101 {
			t.Fatalf("first: %s", resp.Status)
		}
		_, resp = wsUpgrade(t, dialRaw(t, r.addr), false, "/ws", "")
		if resp.StatusCode != 503 {
			t.Fatalf("second: %s, want 503", resp.Status)
		}
		c.send(opClose, []byte{0x03, 0xe8}, false)
		c.until(true, 2*time.Second)
		deadline := time.Now().Add(2 * time.Second)
		for r.ep.Open() != 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if _, resp = wsUpgrade(t, dialRaw(t, r.addr), false, "/ws", ""); resp.StatusCode != 101 {
			t.Fatalf("after the first closed: %s, want 101", resp.Status)
		}
	})
}

func maskedFrame(op byte, fin bool, p []byte) []byte {
	b0 := op
	if fin {
		b0 |= 0x80
	}
	h := []byte{b0}
	if len(p) < 126 {
		h = append(h, 0x80|byte(len(p)))
	} else {
		h = append(h, 0x80|126, byte(len(p)>>8), byte(len(p)))
	}
	h = append(h, 0, 0, 0, 0) // a zero mask: the payload as is
	return append(h, p...)
}

// waitCause waits until the Table has counted a close for cause.
func waitCause(t *testing.T, tab *governor.Table, cause governor.Cause) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Second)
	for tab.Stats().Closed[cause] == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("closes %v, want one for %s", tab.Stats().Closed, cause)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if tab.Stats().WebSockets.Closed[cause] == 0 {
		t.Fatalf("websocket closes %v, want one for %s", tab.Stats().WebSockets.Closed, cause)
	}
}

var _ = net.ErrClosed
