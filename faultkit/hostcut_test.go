package faultkit

import (
	"context"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestCutHere(t *testing.T) {
	t.Run("drops one loopback connection both ways and counts the target's packets by kind", func(t *testing.T) {
		checkLeaks(t)
		ns := newNetns(t)
		ln, err := ns.Listen(t.Context(), "tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("Listen: %v", err)
		}
		t.Cleanup(func() { _ = ln.Close() })
		dialAccept := func() (client, server *net.TCPConn) {
			c, err := ns.DialTCP(t.Context(), ln.Addr().String(), DialOptions{})
			if err != nil {
				t.Fatalf("DialTCP: %v", err)
			}
			t.Cleanup(func() { _ = c.Close() })
			s, err := ln.Accept()
			if err != nil {
				t.Fatalf("Accept: %v", err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return c, s.(*net.TCPConn)
		}
		c1, s1 := dialAccept()
		c2, s2 := dialAccept()

		var cut *HostCut
		// nft runs in the namespace of the thread that starts it.
		if err := ns.Do(func() (err error) { cut, err = CutHere(t.Context(), c1); return err }); err != nil {
			t.Fatalf("CutHere: %v", err)
		}
		t.Cleanup(func() { _ = ns.Do(func() error { return cut.Restore(context.Background()) }) })
		if !strings.HasPrefix(cut.Table, "vglhc") || cut.Remote.String() != ln.Addr().String() {
			t.Errorf("cut = %s %s-%s, want table vglhc… to %s", cut.Table, cut.Local, cut.Remote, ln.Addr())
		}
		seen := func() Seen {
			var s Seen
			if err := ns.Do(func() (err error) { s, err = cut.Seen(t.Context()); return err }); err != nil {
				t.Fatalf("Seen: %v", err)
			}
			return s
		}

		if _, err := s1.Write(make([]byte, 1000)); err != nil {
			t.Fatalf("server write: %v", err)
		}
		silent(t, c1, 300*ms, "client on the cut connection")
		exchange(t, c2, s2, "ping", time.Second) // the other connection still works
		if s := seen(); s.Other == 0 || s.RST != 0 || s.FIN != 0 {
			t.Errorf("after a write into the cut: %+v, want retransmissions only", s)
		}
		_ = s1.SetLinger(0)
		_ = s1.Close()
		deadline := time.Now().Add(2 * time.Second)
		for s := seen(); s.RST == 0; s = seen() {
			if time.Now().After(deadline) {
				t.Fatalf("no RST counted 2s after the server's abortive close: %+v", s)
			}
			time.Sleep(20 * ms)
		}
		silent(t, c1, 100*ms, "client after the dropped RST")

		if err := ns.Do(func() error { return cut.Restore(t.Context()) }); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		if err := ns.Do(func() error { return cut.Restore(ctx) }); err != nil {
			t.Fatalf("second Restore with a cancelled context: %v", err)
		}
		if out, err := ns.Exec(t.Context(), "nft", "list", "tables"); err != nil || strings.Contains(string(out), cut.Table) {
			t.Errorf("nft list tables after Restore = %q, %v; want no %s", out, err, cut.Table)
		}
		// The client's next segment now meets no socket: it is reset.
		_, _ = io.WriteString(c1, "x")
		_ = c1.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c1.Read(make([]byte, 1)); err == nil || os.IsTimeout(err) {
			t.Errorf("client read after Restore = %v, want a reset", err)
		}
	})
	t.Run("removes only the tables of dead processes", func(t *testing.T) {
		ns := newNetns(t)
		// A pid far above pid_max cannot be running.
		dead, live := "vglhc999999999x0badcafe", "vglhc"+strconv.Itoa(os.Getpid())+"x0badcafe"
		if _, err := ns.Exec(t.Context(), "nft", "add", "table", "inet", dead); err != nil {
			t.Fatal(err)
		}
		if _, err := ns.Exec(t.Context(), "nft", "add", "table", "inet", live); err != nil {
			t.Fatal(err)
		}
		var removed []string
		if err := ns.Do(func() (err error) { removed, err = RemoveStaleHostCuts(t.Context()); return err }); err != nil {
			t.Fatalf("RemoveStaleHostCuts: %v", err)
		}
		out, _ := ns.Exec(t.Context(), "nft", "list", "tables")
		if len(removed) != 1 || removed[0] != dead || strings.Contains(string(out), dead) || !strings.Contains(string(out), live) {
			t.Errorf("removed %v, tables left %q; want only %s removed", removed, out, dead)
		}
	})
}

func TestParseCounters(t *testing.T) {
	out := `{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"counter": {"family": "inet", "name": "rst", "table": "t", "handle": 2, "packets": 1, "bytes": 40}}, {"counter": {"name": "fin", "packets": 2}}, {"counter": {"name": "other", "packets": 7}}]}`
	s, err := parseCounters([]byte(out))
	if err != nil || s != (Seen{RST: 1, FIN: 2, Other: 7}) || s.Total() != 10 {
		t.Errorf("parseCounters = %+v, %v; want {1 2 7}", s, err)
	}
	if _, err := parseCounters([]byte(`{"nftables": [{"counter": {"name": "rst", "packets": 1}}]}`)); err == nil {
		t.Error("parseCounters with one counter succeeded, want an error")
	}
	for name, want := range map[string]int{"vglhc123x0badcafe": 123, "vglhcx00": 0, "vglhc12": 0, "vgl1x00000000n": 0, "vglhc5xzz": 0} {
		if pid, _ := hostCutPid(name); pid != want {
			t.Errorf("hostCutPid(%q) = %d, want %d", name, pid, want)
		}
	}
}
