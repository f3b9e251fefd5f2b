package faultkit

import (
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"
)

func TestCutAll(t *testing.T) {
	t.Run("a Dialer binds the source addresses AddClientAddrs gave, and one CutAll silences those connections while others work, until Restore", func(t *testing.T) {
		checkLeaks(t)
		l := newLink(t)
		if err := Available(); err != nil {
			t.Skip(err)
		}
		srcs, err := l.AddClientAddrs(t.Context(), 2)
		if err != nil {
			t.Fatalf("AddClientAddrs: %v", err)
		}
		if len(srcs) != 2 || srcs[0] == srcs[1] || srcs[0] == l.ClientIP {
			t.Fatalf("AddClientAddrs = %v, want two new addresses", srcs)
		}
		ln, addr := listen(t, l)
		d := NewDialer(l.Client, addr.String(), 2)
		accept := func(c net.Conn) *net.TCPConn {
			t.Helper()
			_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(2 * time.Second))
			s, err := ln.Accept()
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			if got, want := s.RemoteAddr().String(), c.LocalAddr().String(); got != want {
				t.Fatalf("server sees %s, client is %s", got, want)
			}
			return s.(*net.TCPConn)
		}
		var clients []net.Conn
		var servers []*net.TCPConn
		for _, src := range append(srcs, srcs[0]) {
			ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
			c, err := d.Dial(ctx, DialOptions{Source: src})
			cancel()
			if err != nil {
				t.Fatalf("Dial from %v: %v", src, err)
			}
			t.Cleanup(func() { _ = c.Close() })
			if got := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); got != src {
				t.Errorf("connection from %v, want %v", got, src)
			}
			clients = append(clients, c)
			servers = append(servers, accept(c))
		}

		set, err := CutAll(t.Context(), l.Client, clients[:2])
		if err != nil {
			t.Fatalf("CutAll: %v", err)
		}
		t.Cleanup(func() {
			if err := set.Restore(context.Background()); err != nil {
				t.Errorf("Restore: %v", err)
			}
		})
		for i := range 2 {
			if _, err := servers[i].Write([]byte("x")); err != nil {
				t.Fatalf("server write: %v", err)
			}
			silent(t, clients[i], 300*ms, "client on a cut connection")
			if _, err := io.WriteString(clients[i], "hello"); err != nil {
				t.Fatalf("client write: %v", err)
			}
			silent(t, servers[i], 300*ms, "server on a cut connection")
		}
		// The third connection comes from the first cut one's address.
		exchange(t, clients[2], servers[2], "ping", time.Second)
		exchange(t, servers[2], clients[2], "pong", time.Second)

		if err := set.Restore(t.Context()); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if err := set.Restore(t.Context()); err != nil {
			t.Fatalf("second Restore: %v", err)
		}
		if out, err := l.Client.Exec(t.Context(), "nft", "list", "tables"); err != nil || strings.Contains(string(out), set.Table) {
			t.Errorf("nft list tables after Restore = %q, %v; want no %s", out, err, set.Table)
		}
		// The retransmissions get through once the cut is gone.
		_ = clients[0].SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 1)
		if _, err := io.ReadFull(clients[0], buf); err != nil || buf[0] != 'x' {
			t.Errorf("after Restore the client read %q, %v; want the server's x", buf, err)
		}
	})
}
