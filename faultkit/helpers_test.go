package faultkit

import (
	"bufio"
	"context"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// checkLeaks fails t if goroutines are left over once all of t's other
// cleanups have run. Call it first, so its cleanup runs last.
func checkLeaks(t *testing.T) {
	t.Helper()
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

// serve runs a plain TCP server on 127.0.0.1 for the test: handle runs on
// its own goroutine for every accepted connection. The test's cleanup closes
// the listener and every connection and waits for all goroutines.
func serve(t *testing.T, handle func(c *net.TCPConn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	var (
		accepting, handling sync.WaitGroup
		mu                  sync.Mutex
		conns               []net.Conn // guarded by mu
	)
	accepting.Go(func() {
		for range 100 {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			handling.Go(func() { handle(c.(*net.TCPConn)) })
		}
	})
	t.Cleanup(func() {
		_ = ln.Close()
		accepting.Wait()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		handling.Wait()
	})
	return ln.Addr().String()
}

// dial connects to addr on loopback and closes the connection at cleanup.
func dial(t *testing.T, addr string, opt DialOptions) *net.TCPConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	c, err := DialTCP(ctx, addr, opt)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// readHeadTo reads a request head from br until the empty line, within d.
func readHeadTo(c net.Conn, br *bufio.Reader, d time.Duration) error {
	_ = c.SetReadDeadline(time.Now().Add(d))
	for range 100 {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if strings.TrimRight(line, "\r\n") == "" {
			return nil
		}
	}
	return io.ErrShortBuffer
}

// discardFor reads and discards from c for d or until c fails.
func discardFor(c net.Conn, d time.Duration) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	_, _ = io.Copy(io.Discard, c)
}

// within fails t unless lo <= got <= hi.
func within(t *testing.T, what string, got, lo, hi time.Duration) {
	t.Helper()
	if got < lo || got > hi {
		t.Errorf("%s = %v, want between %v and %v", what, got, lo, hi)
	}
}

// newNetns makes a namespace for the test, closed at cleanup; it skips the
// test when not running as root.
func newNetns(t *testing.T) *Netns {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: namespaces and nftables rules need root (CI runs these tests as root)")
	}
	ns, err := NewNetns(t.Context())
	if err != nil {
		t.Fatalf("NewNetns: %v", err)
	}
	t.Cleanup(func() { _ = ns.Close() })
	return ns
}
