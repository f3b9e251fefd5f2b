package live

import (
	"bytes"
	"fmt"
	"net"
	"runtime"
	"testing"
	"time"
)

// TestIdleMemory measures what 1,000 idle WebSockets cost the process: the
// heap and stacks in use with them open, minus the same with 1,000 plain
// TCP connections (both ends in this process: the clients' cost and the
// accepted sockets cancel out), per socket. The bound is 40 KiB.
func TestIdleMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 2,000 connections")
	}
	const n = 1000
	inUse := func() uint64 {
		runtime.GC()
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse + m.StackInuse
	}
	// Plain TCP: n clients, n accepted connections held open.
	ln := loopback(t)
	held := make(chan net.Conn, n)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held <- c
		}
	}()
	base := inUse()
	var plain []net.Conn
	for range n {
		plain = append(plain, dialRaw(t, ln.Addr().String()))
	}
	for range n {
		plain = append(plain, <-held)
	}
	tcp := inUse() - base
	for _, c := range plain {
		c.Close()
	}
	ln.Close()

	r := newRig(t, loopback(t), rigOptions{})
	base = inUse()
	var clients []net.Conn
	for i := range n {
		c := dialRaw(t, r.addr)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		fmt.Fprintf(c, "GET /ws HTTP/1.1\r\nHost: dev\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
		var got []byte
		b := make([]byte, 1)
		for !bytes.HasSuffix(got, []byte("\r\n\r\n")) {
			if _, err := c.Read(b); err != nil {
				t.Fatalf("socket %d: %v", i, err)
			}
			got = append(got, b[0])
		}
		if !bytes.HasPrefix(got, []byte("HTTP/1.1 101")) {
			t.Fatalf("socket %d: %q", i, got)
		}
		c.SetDeadline(time.Time{})
		clients = append(clients, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for r.ep.Open() != n && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if r.ep.Open() != n {
		t.Fatalf("%d sockets open, want %d", r.ep.Open(), n)
	}
	ws := inUse() - base
	per := (int64(ws) - int64(tcp)) / n
	t.Logf("%d idle WebSockets: %d KiB in use (%d KiB for as many plain TCP connections, both ends): %.1f KiB per socket on the server",
		n, ws>>10, tcp>>10, float64(per)/1024)
	if per > 40<<10 && !raced {
		t.Errorf("%.1f KiB per idle WebSocket, want at most 40 KiB", float64(per)/1024)
	}
	for _, c := range clients {
		c.Close()
	}
}
