package faultkit

import (
	"bufio"
	"context"
	"io"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// respond serves one HTTP/1.1 response of n bytes of body to each request
// head, then closes the connection.
func respond(n int) func(c *net.TCPConn) {
	return func(c *net.TCPConn) { answer(c, bufio.NewReader(c), n) }
}

// answer reads a request head from br and answers it on c with n bytes of
// body, then closes c.
func answer(c *net.TCPConn, br *bufio.Reader, n int) {
	defer c.Close()
	if readHeadTo(c, br, 2*time.Second) != nil {
		return
	}
	_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
	_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: "+strconv.Itoa(n)+"\r\nConnection: close\r\n\r\n")
	_, _ = c.Write(make([]byte, n))
}

func TestTargetRun(t *testing.T) {
	t.Run("a probe of a server that answers is served with its status", func(t *testing.T) {
		checkLeaks(t)
		tg := Target{Addr: serve(t, respond(10)), Host: "x", Path: "/"}
		ctx, cancel := context.WithTimeout(t.Context(), ProbeTimeout)
		defer cancel()
		if status, lat, err := tg.Probe(ctx); err != nil || status != 200 || lat <= 0 {
			t.Errorf("Probe = %d, %v, %v; want 200", status, lat, err)
		}
	})
	t.Run("reset-mid-response reads 16 KiB of a long answer and resets", func(t *testing.T) {
		checkLeaks(t)
		tg := Target{Addr: serve(t, respond(1<<20)), Host: "x", Path: "/"}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		out, err := tg.Run(ctx, "reset-mid-response", RunOptions{Large: "/big"})
		if err != nil || out.Ended != EndedRST || !strings.Contains(out.Detail, "read 16384 B, then reset by us") {
			t.Errorf("Run = %+v, %v; want 16 KiB read, then rst", out, err)
		}
	})
	t.Run("reset-mid-response says when the answer is shorter than 16 KiB", func(t *testing.T) {
		checkLeaks(t)
		tg := Target{Addr: serve(t, respond(100)), Host: "x", Path: "/"}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		out, err := tg.Run(ctx, "reset-mid-response", RunOptions{Large: "/"})
		if err != nil || !strings.Contains(out.Detail, "shorter than 16 KiB") {
			t.Errorf("Run = %+v, %v; want a note on the short answer", out, err)
		}
	})
	t.Run("a flood of silent connections the server closes ends fin, and its probe with all open is served", func(t *testing.T) {
		checkLeaks(t)
		tg := Target{Addr: serve(t, func(c *net.TCPConn) {
			// A probe's request is answered; a silent connection is closed
			// after 300 ms without a byte.
			br := bufio.NewReader(c)
			_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, err := br.Peek(1); err != nil {
				_ = c.Close()
				return
			}
			answer(c, br, 0)
		}), Host: "x", Path: "/"}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		out, err := tg.Run(ctx, "flood", RunOptions{Conns: 5})
		if err != nil || out.Ended != EndedFIN || !out.Probed || !out.ProbeOK || !strings.Contains(out.Detail, "opened 5 of 5") ||
			!strings.Contains(out.Detail, "ended fin 5, rst 0, open 0") {
			t.Errorf("Run = %+v, %v; want 5 opened, a probe served, all fin", out, err)
		}
	})
	t.Run("an unknown scenario is an error", func(t *testing.T) {
		if _, err := (Target{}).Run(t.Context(), "nope", RunOptions{}); err == nil {
			t.Error("Run(nope) succeeded")
		}
	})
}
