package faultkit

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"
)

// newLink creates a Link for the test and closes it at cleanup. It skips the
// test when not running as root.
func newLink(t *testing.T) *Link {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: creating network namespaces needs root (CI runs these tests as root)")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	l, err := NewLink(ctx)
	if err != nil {
		t.Fatalf("NewLink: %v", err)
	}
	t.Logf("NewLink took %v", time.Since(start))
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("Link.Close: %v", err)
		}
	})
	return l
}

// listen listens on the link's server address, closed at cleanup.
func listen(t *testing.T, l *Link) (net.Listener, netip.AddrPort) {
	t.Helper()
	ln, err := l.Server.Listen(t.Context(), "tcp", netip.AddrPortFrom(l.ServerIP, 0).String())
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	return ln, ln.Addr().(*net.TCPAddr).AddrPort()
}

// connect dials from the client namespace and accepts on ln; both ends are
// closed at cleanup.
func connect(t *testing.T, l *Link, ln net.Listener, addr netip.AddrPort) (client, server *net.TCPConn) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	client, err := l.Client.DialTCP(ctx, addr.String(), DialOptions{})
	if err != nil {
		t.Fatalf("DialTCP: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	_ = ln.(*net.TCPListener).SetDeadline(time.Now().Add(2 * time.Second))
	s, err := ln.Accept()
	if err != nil {
		t.Fatalf("Accept: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return client, s.(*net.TCPConn)
}

// exchange sends msg from a to b and fails t unless it arrives within d.
func exchange(t *testing.T, a, b net.Conn, msg string, d time.Duration) {
	t.Helper()
	_ = a.SetWriteDeadline(time.Now().Add(d))
	if _, err := io.WriteString(a, msg); err != nil {
		t.Fatalf("write %q: %v", msg, err)
	}
	_ = b.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, len(msg))
	if _, err := io.ReadFull(b, buf); err != nil || string(buf) != msg {
		t.Fatalf("read %q, %v; want %q", buf, err, msg)
	}
}

// silent fails t unless nothing arrives on c within d.
func silent(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	buf := make([]byte, 1)
	if n, err := c.Read(buf); n > 0 || !os.IsTimeout(err) {
		t.Fatalf("%s: read %d bytes, %v; want nothing within %v", what, n, err, d)
	}
}

// findSocket polls Sockets in ns for up to 2s until one of the connection
// local-remote satisfies ok, and returns it.
func findSocket(t *testing.T, ns *Netns, local, remote netip.AddrPort, ok func(Socket) bool) Socket {
	t.Helper()
	var last []Socket
	for range 40 {
		socks, err := Sockets(t.Context(), ns, local.Port())
		if err != nil {
			t.Fatalf("Sockets: %v", err)
		}
		for _, s := range socks {
			if s.Local == local && s.Remote == remote && ok(s) {
				return s
			}
		}
		last = socks
		time.Sleep(50 * ms)
	}
	t.Fatalf("no matching socket for %v-%v within 2s; sockets: %v", local, remote, last)
	return Socket{}
}

func TestLink(t *testing.T) {
	t.Run("carries a connection from the client namespace to a listener in the server namespace, and Close removes both namespaces", func(t *testing.T) {
		checkLeaks(t)
		l := newLink(t)
		ln, addr := listen(t, l)
		client, server := connect(t, l, ln, addr)
		exchange(t, client, server, "ping", time.Second)
		exchange(t, server, client, "pong", time.Second)
		if got := client.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); got != l.ClientIP {
			t.Errorf("client address = %v, want %v", got, l.ClientIP)
		}

		out, err := l.Server.Exec(t.Context(), "ip", "-o", "-4", "addr", "show", "dev", Device)
		if err != nil || !strings.Contains(string(out), l.ServerIP.String()+"/30") {
			t.Errorf("Exec ip addr in server namespace = %q, %v; want %v/30", out, err, l.ServerIP)
		}
		// Binding (never dialling: no packet may leave) the server's address
		// fails outside its namespace, so Do switched the thread back.
		if ln, err := net.Listen("tcp", netip.AddrPortFrom(l.ServerIP, 0).String()); err == nil {
			_ = ln.Close()
			t.Errorf("listen on %v in the test's own namespace succeeded; Do must switch back", l.ServerIP)
		}

		if err := l.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		out, err = run(t.Context(), nil, "ip", "netns", "list")
		if err != nil {
			t.Fatalf("ip netns list: %v", err)
		}
		for _, n := range []*Netns{l.Server, l.Client} {
			if strings.Contains(string(out), n.Name) {
				t.Errorf("namespace %s still listed after Close:\n%s", n.Name, out)
			}
		}
		if err := l.Server.Do(func() error { return nil }); err == nil {
			t.Error("Do on a closed namespace succeeded, want an error")
		}
	})
}

func TestCutConn(t *testing.T) {
	t.Run("silences one connection both ways, even its close, while a second one works, until Restore", func(t *testing.T) {
		checkLeaks(t)
		l := newLink(t)
		ln, addr := listen(t, l)
		c1, s1 := connect(t, l, ln, addr)
		c2, s2 := connect(t, l, ln, addr)
		cut, err := CutConn(t.Context(), l.Client, c1)
		if err != nil {
			t.Fatalf("CutConn: %v", err)
		}
		t.Cleanup(func() {
			if err := cut.Restore(context.Background()); err != nil {
				t.Errorf("Restore: %v", err)
			}
		})
		clientAddr := c1.LocalAddr().(*net.TCPAddr).AddrPort()

		if _, err := s1.Write(make([]byte, 1000)); err != nil {
			t.Fatalf("server write: %v", err)
		}
		silent(t, c1, 300*ms, "client on the cut connection")
		if _, err := io.WriteString(c1, "hello"); err != nil {
			t.Fatalf("client write: %v", err)
		}
		silent(t, s1, 300*ms, "server on the cut connection")
		sock := findSocket(t, l.Server, addr, clientAddr, func(s Socket) bool { return s.State == "ESTAB" && s.SendQ >= 1000 })
		t.Logf("cut server socket: %v", sock)
		exchange(t, c2, s2, "ping", time.Second)
		exchange(t, s2, c2, "pong", time.Second)

		if err := cut.Restore(t.Context()); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		if err := cut.Restore(t.Context()); err != nil {
			t.Fatalf("second Restore: %v", err)
		}
		if out, err := l.Client.Exec(t.Context(), "nft", "list", "tables"); err != nil || strings.Contains(string(out), cut.Table) {
			t.Errorf("nft list tables after Restore = %q, %v; want no %s", out, err, cut.Table)
		}
		_ = c1.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(c1, make([]byte, 1000)); err != nil {
			t.Fatalf("client read after Restore: %v", err)
		}
		_ = s1.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.ReadFull(s1, make([]byte, 5)); err != nil {
			t.Fatalf("server read after Restore: %v", err)
		}

		// Cut again: the server's close now leaves an orphan in FIN-WAIT-1
		// that still holds the unacknowledged bytes.
		cut2, err := CutConn(t.Context(), l.Client, c1)
		if err != nil {
			t.Fatalf("second CutConn: %v", err)
		}
		t.Cleanup(func() { _ = cut2.Restore(context.Background()) })
		if _, err := s1.Write(make([]byte, 500)); err != nil {
			t.Fatalf("server write: %v", err)
		}
		_ = s1.Close()
		findSocket(t, l.Server, addr, clientAddr, func(s Socket) bool { return s.State == "FIN-WAIT-1" && s.SendQ >= 500 })
		ctx, cancel := context.WithTimeout(t.Context(), 200*ms)
		defer cancel()
		if _, err := WaitGone(ctx, l.Server, addr, clientAddr); err == nil || !strings.Contains(err.Error(), "FIN-WAIT-1") {
			t.Errorf("WaitGone on the orphan = %v, want a timeout listing FIN-WAIT-1", err)
		}
		if err := cut2.Restore(t.Context()); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		_ = c1.SetReadDeadline(time.Now().Add(3 * time.Second))
		if b, err := io.ReadAll(c1); err != nil || len(b) != 500 {
			t.Fatalf("client read after second Restore = %d bytes, %v; want 500 then EOF", len(b), err)
		}
		_ = c1.Close()
		ctx, cancel = context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		if d, err := WaitGone(ctx, l.Server, addr, clientAddr); err != nil {
			t.Errorf("WaitGone after both closed: %v (after %v)", err, d)
		}
	})
	t.Run("refuses a nil namespace", func(t *testing.T) {
		if _, err := CutConn(t.Context(), nil, nil); err == nil {
			t.Error("CutConn(nil namespace) succeeded, want an error")
		}
	})
}

func TestWaitGone(t *testing.T) {
	t.Run("sees the server's socket vanish after an abortive close, and lists it before", func(t *testing.T) {
		checkLeaks(t)
		l := newLink(t)
		ln, addr := listen(t, l)
		client, server := connect(t, l, ln, addr)
		clientAddr := client.LocalAddr().(*net.TCPAddr).AddrPort()

		ctx, cancel := context.WithTimeout(t.Context(), 200*ms)
		defer cancel()
		d, err := WaitGone(ctx, l.Server, addr, clientAddr)
		if err == nil || !strings.Contains(err.Error(), "ESTAB "+addr.String()+" "+clientAddr.String()) {
			t.Errorf("WaitGone on an open connection = %v, want a timeout listing it", err)
		}
		within(t, "WaitGone timeout", d, 150*ms, time.Second)

		_ = server.SetLinger(0)
		_ = server.Close()
		ctx, cancel = context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		d, err = WaitGone(ctx, l.Server, addr, clientAddr)
		if err != nil {
			t.Fatalf("WaitGone after SO_LINGER 0 close: %v", err)
		}
		within(t, "WaitGone", d, 0, time.Second)
	})
}

func TestRemoveStale(t *testing.T) {
	t.Run("deletes a namespace whose creator is dead and keeps those of live processes", func(t *testing.T) {
		l := newLink(t)
		cmd := exec.Command("true")
		if err := cmd.Run(); err != nil {
			t.Fatalf("run true: %v", err)
		}
		stale, err := addNetns(t.Context(), fmt.Sprintf("vgl%dx0123abcdn", cmd.ProcessState.Pid()))
		if err != nil {
			t.Fatalf("addNetns: %v", err)
		}
		t.Cleanup(func() { _ = stale.Close() })
		removed, err := RemoveStale(t.Context())
		if err != nil {
			t.Fatalf("RemoveStale: %v", err)
		}
		// A parallel test binary may remove the stale name first, so check
		// the namespaces, not only what this call reports.
		if slices.Contains(removed, l.Server.Name) || slices.Contains(removed, l.Client.Name) {
			t.Errorf("RemoveStale removed %v, including a live namespace %s or %s", removed, l.Server.Name, l.Client.Name)
		}
		if _, err := os.Stat(netnsDir + "/" + stale.Name); !os.IsNotExist(err) {
			t.Errorf("stat %s after RemoveStale: %v, want not exist", stale.Name, err)
		}
		for _, n := range []*Netns{l.Server, l.Client} {
			if _, err := os.Stat(netnsDir + "/" + n.Name); err != nil {
				t.Errorf("live namespace %s after RemoveStale: %v", n.Name, err)
			}
		}
	})
}

func TestOwnerPid(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]int{
		"vgl123x0123abcds":  123,
		"vgl123x0123abcdc":  123,
		"vgl123x0123abcd":   0,
		"vgl0123x0123abcds": 0,
		"vglx0123abcds":     0,
		"vgl123x0123ABCDs":  0,
		"other123x0123abcs": 0,
		"vgl123x0123abcdss": 0,
	} {
		if got, ok := ownerPid(name); got != want || ok != (want != 0) {
			t.Errorf("ownerPid(%q) = %d, %v; want %d", name, got, ok, want)
		}
	}
}

func TestNetns(t *testing.T) {
	t.Run("has its own loopback, up, and Close is idempotent", func(t *testing.T) {
		checkLeaks(t)
		n := newNetns(t)
		ln, err := n.Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		defer ln.Close()
		c, err := n.Dial(t.Context(), "tcp", ln.Addr().String())
		if err != nil {
			t.Fatalf("Dial inside the namespace: %v", err)
		}
		defer c.Close()
		socks, err := Sockets(t.Context(), n, ln.Addr().(*net.TCPAddr).AddrPort().Port())
		if err != nil || len(socks) != 3 {
			t.Errorf("Sockets = %v, %v; want the listener and both ends of the connection only", socks, err)
		}
		if err := n.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := n.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := n.Listen(t.Context(), "tcp", "127.0.0.1:0"); err == nil {
			t.Error("Listen after Close succeeded, want an error")
		}
	})
}
