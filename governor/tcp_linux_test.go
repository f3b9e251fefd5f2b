package governor

import (
	"context"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestSocketOptions(t *testing.T) {
	// TCP_USER_TIMEOUT is only a backstop well above the stall timeout:
	// none by default (the governor decides), raised to 4 × stall if set
	// lower.
	for _, ut := range []struct {
		name     string
		set, got int
	}{
		{"no TCP_USER_TIMEOUT by default", 0, 0},
		{"a TCP_USER_TIMEOUT above 4 × stall as set", 43210, 43210},
		{"a TCP_USER_TIMEOUT below 4 × stall raised to it", 4321, 36000},
	} {
		t.Run(ut.name, func(t *testing.T) { testSocketOptions(t, ut.set, ut.got) })
	}
}

func testSocketOptions(t *testing.T, userTimeout, wantUserTimeout int) {
	opts := Options{
		StallTimeout:      9 * time.Second,
		KeepAliveIdle:     2500 * time.Millisecond, // Linux keeps whole seconds: 3
		KeepAliveInterval: time.Second,
		KeepAliveCount:    7,
		UserTimeout:       time.Duration(userTimeout) * time.Millisecond,
	}
	want := map[string][3]int{
		"SO_KEEPALIVE":     {unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		"TCP_KEEPIDLE":     {unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, 3},
		"TCP_KEEPINTVL":    {unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, 1},
		"TCP_KEEPCNT":      {unix.IPPROTO_TCP, unix.TCP_KEEPCNT, 7},
		"TCP_USER_TIMEOUT": {unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, wantUserTimeout},
	}
	listeners := []struct {
		name    string
		lc      net.ListenConfig
		inherit bool // keepalive is inherited, not set per connection
	}{
		{"a listener without runtime keepalive (set on the listener, inherited)", net.ListenConfig{KeepAlive: -1}, true},
		{"a listener whose runtime sets its own keepalive on accept (set per connection)", net.ListenConfig{}, false},
		{"a listener with other runtime keepalive values (set per connection)", net.ListenConfig{KeepAlive: 11 * time.Second}, false},
	}
	for _, l := range listeners {
		t.Run(l.name+": every accepted socket has the options", func(t *testing.T) {
			ln, err := l.lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			gl := NewTable(opts).Listen(ln, ListenerOptions{})
			defer gl.Close()
			for i := range 3 { // the first socket is looked at; the others rely on it
				cli, err := net.Dial("tcp", ln.Addr().String())
				if err != nil {
					t.Fatal(err)
				}
				defer cli.Close()
				nc, err := gl.Accept()
				if err != nil {
					t.Fatal(err)
				}
				defer nc.Close()
				c := nc.(*Conn)
				if !c.ackProgress {
					t.Errorf("conn %d: ackProgress false on Linux TCP", i)
				}
				rc, err := c.tcp.SyscallConn()
				if err != nil {
					t.Fatal(err)
				}
				rc.Control(func(fd uintptr) {
					for name, w := range want {
						got, err := unix.GetsockoptInt(int(fd), w[0], w[1])
						if err != nil || got != w[2] {
							t.Errorf("conn %d: %s = %d (%v), want %d", i, name, got, err, w[2])
						}
					}
				})
			}
			if got := sockFlags(gl.sock.Load())&sockKeepAlive != 0; got != l.inherit {
				t.Errorf("keepalive inherited: %v, want %v", got, l.inherit)
			}
		})
	}
}
