package governor

import (
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestPerIPCapCountsIPv6By64(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback:", err)
	}
	defer ln.Close()
	for _, tt := range []struct{ remote, want string }{
		{"[2001:db8:1:2:aaaa::1]:5000", "2001:db8:1:2::"},
		{"[2001:db8:1:2:bbbb::2]:5000", "2001:db8:1:2::"},
		{"[::ffff:198.18.0.7]:5000", "198.18.0.7"},
		{"198.18.0.7:5000", "198.18.0.7"},
	} {
		ap := netip.MustParseAddrPort(tt.remote)
		got := remoteIP(fakeRemote{net.TCPAddrFromAddrPort(ap)})
		if got.String() != tt.want {
			t.Errorf("%s counts as %s, want %s", tt.remote, got, tt.want)
		}
	}
}

// fakeRemote is a net.Conn with a remote address only.
type fakeRemote struct{ addr net.Addr }

func (f fakeRemote) RemoteAddr() net.Addr             { return f.addr }
func (f fakeRemote) Read([]byte) (int, error)         { return 0, nil }
func (f fakeRemote) Write(p []byte) (int, error)      { return len(p), nil }
func (f fakeRemote) Close() error                     { return nil }
func (f fakeRemote) LocalAddr() net.Addr              { return f.addr }
func (f fakeRemote) SetDeadline(time.Time) error      { return nil }
func (f fakeRemote) SetReadDeadline(time.Time) error  { return nil }
func (f fakeRemote) SetWriteDeadline(time.Time) error { return nil }

// TestListenerCloseDuringRefusals closes a listener while connections are
// being refused at its cap: Close must wait for every refusal goroutine
// Accept started, and Accept must start none after Close (under -race a
// WaitGroup Add racing its Wait is reported).
func TestListenerCloseDuringRefusals(t *testing.T) {
	for range 5 {
		tab := NewTable(Options{MaxConns: 1})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gl := tab.Listen(ln, ListenerOptions{Refusal: []byte("HTTP/1.1 503 Service Unavailable\r\n\r\n")})
		held, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc, err := gl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		nc.(*Conn).BeginRequest(Limits{}, nil, false) // busy: never evicted, so the rest are refused
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				if _, err := gl.Accept(); err != nil {
					return
				}
			}
		}()
		var dialed []net.Conn
		for range 20 {
			if c, err := net.Dial("tcp", ln.Addr().String()); err == nil {
				dialed = append(dialed, c)
			}
		}
		gl.Close()
		<-done
		for _, c := range dialed {
			c.Close()
		}
		held.Close()
		nc.Close()
	}
}

// TestEarlyReplyIsPlaintextOnly: a reply written before any request is
// recorded on a plain connection, never on a TLS one (its bytes are
// encrypted records).
func TestEarlyReplyIsPlaintextOnly(t *testing.T) {
	for _, tls := range []bool{false, true} {
		tab := NewTable(Options{})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		gl := tab.Listen(ln, ListenerOptions{TLS: tls})
		cli, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc, err := gl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		c := nc.(*Conn)
		if tls {
			c.HandshakeDone()
		}
		c.Write([]byte("HTTP/1.1 400 Bad Request\r\n\r\n"))
		got := c.EarlyReply()
		if tls && got != "" || !tls && !strings.HasPrefix(got, "HTTP/1.1 400") {
			t.Errorf("TLS %v: EarlyReply %q", tls, got)
		}
		c.Close()
		cli.Close()
		gl.Close()
	}
}

// TestBehindIsRevalidated: a peer once behind (a write blocked past a
// wake-up) that has since acknowledged everything is not cut by the next
// write, on the next request, for the stale time it was behind.
func TestBehindIsRevalidated(t *testing.T) {
	tab := NewTable(Options{StallTimeout: time.Second})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl := tab.Listen(ln, ListenerOptions{})
	defer gl.Close()
	cli, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	nc, err := gl.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*Conn)
	defer c.Close()
	if _, err := c.Write(make([]byte, 32<<10)); err != nil {
		t.Fatal(err)
	}
	cli.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(cli, make([]byte, 32<<10)); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the acknowledgements are in
	c.mu.Lock()
	c.behind = tab.now().Add(-10 * time.Second) // behind, long ago
	c.acked = 0
	c.mu.Unlock()
	c.BeginRequest(Limits{}, nil, false)
	if _, err := c.Write([]byte("next response")); err != nil {
		t.Fatalf("the next write failed (%v): a peer that caught up was cut for a stale stall", err)
	}
}
