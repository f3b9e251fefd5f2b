package faultkit

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"
)

const ms = time.Millisecond

func TestSlowloris(t *testing.T) {
	tests := []struct {
		name    string
		handle  func(c *net.TCPConn)
		timeout time.Duration
		ended   string
		status  int
		held    [2]time.Duration
	}{
		{
			name: "reports fin and the status when the server answers 408 and closes",
			handle: func(c *net.TCPConn) {
				discardFor(c, 300*ms)
				_, _ = io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
				_ = c.CloseWrite()
				discardFor(c, 2*time.Second)
			},
			timeout: 3 * time.Second, ended: EndedFIN, status: 408, held: [2]time.Duration{250 * ms, 2 * time.Second},
		},
		{
			name: "reports rst when the server aborts the connection",
			handle: func(c *net.TCPConn) {
				discardFor(c, 200*ms)
				_ = c.SetLinger(0)
				_ = c.Close()
			},
			timeout: 3 * time.Second, ended: EndedRST, held: [2]time.Duration{150 * ms, 2 * time.Second},
		},
		{
			name:    "reports open when the context ends before the server acts",
			handle:  func(c *net.TCPConn) { discardFor(c, 3*time.Second) },
			timeout: 300 * ms, ended: EndedOpen, held: [2]time.Duration{250 * ms, time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			c := dial(t, serve(t, tt.handle), DialOptions{})
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			res, err := Slowloris(ctx, c, 20*ms)
			if err != nil {
				t.Fatalf("Slowloris: %v", err)
			}
			if res.Ended != tt.ended || res.Status != tt.status {
				t.Errorf("Slowloris = %+v, want ended %q status %d", res, tt.ended, tt.status)
			}
			if res.Sent <= int64(len("GET / HTTP/1.1\r\nHost: x\r\n")) {
				t.Errorf("Sent = %d, want the request line and some header bytes", res.Sent)
			}
			within(t, "Held", res.Held, tt.held[0], tt.held[1])
		})
	}
	t.Run("rejects a non-positive interval", func(t *testing.T) {
		if _, err := Slowloris(t.Context(), nil, 0); err == nil || !strings.HasPrefix(err.Error(), "faultkit: ") {
			t.Errorf("Slowloris(every 0) error = %v, want a faultkit error", err)
		}
	})
}

func TestSlowBody(t *testing.T) {
	const size = 1000
	head := "POST /up HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: 1000\r\n\r\n"
	ok := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	tests := []struct {
		name         string
		handle       func(c *net.TCPConn)
		ended        string
		status       int
		sent, sentLo int64
		received     int64
	}{
		{
			name: "sends the whole body and reads a keep-alive response",
			handle: func(c *net.TCPConn) {
				br := bufio.NewReader(c)
				if readHeadTo(c, br, 2*time.Second) != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, br, size); err != nil {
					return
				}
				_, _ = io.WriteString(c, ok)
				discardFor(c, 2*time.Second)
			},
			ended: EndedOpen, status: 200, sent: int64(len(head)) + size, received: int64(len(ok)),
		},
		{
			name: "stops sending when the server answers 408 mid-body and closes",
			handle: func(c *net.TCPConn) {
				discardFor(c, 150*ms)
				_, _ = io.WriteString(c, "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
				_ = c.CloseWrite()
				discardFor(c, 2*time.Second)
			},
			ended: EndedFIN, status: 408, sentLo: int64(len(head)),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			c := dial(t, serve(t, tt.handle), DialOptions{})
			ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
			defer cancel()
			res, err := SlowBody(ctx, c, "/up", size, 100, 30*ms)
			if err != nil {
				t.Fatalf("SlowBody: %v", err)
			}
			if res.Ended != tt.ended || res.Status != tt.status {
				t.Errorf("SlowBody = %+v, want ended %q status %d", res, tt.ended, tt.status)
			}
			if tt.sent > 0 && res.Sent != tt.sent {
				t.Errorf("Sent = %d, want %d", res.Sent, tt.sent)
			}
			if tt.sentLo > 0 && (res.Sent < tt.sentLo || res.Sent >= int64(len(head))+size) {
				t.Errorf("Sent = %d, want part of the body only", res.Sent)
			}
			if tt.received > 0 && res.Received != tt.received {
				t.Errorf("Received = %d, want %d", res.Received, tt.received)
			}
		})
	}
}

func TestStopReading(t *testing.T) {
	fill := func(stall time.Duration) func(c *net.TCPConn) {
		return func(c *net.TCPConn) {
			if readHeadTo(c, bufio.NewReader(c), 2*time.Second) != nil {
				return
			}
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n")
			_ = c.SetWriteDeadline(time.Now().Add(stall))
			buf := bytes.Repeat([]byte("x"), 64<<10)
			for range 1600 {
				if _, err := c.Write(buf); err != nil {
					break
				}
			}
			_ = c.SetLinger(0)
			_ = c.Close()
		}
	}
	tests := []struct {
		name    string
		handle  func(c *net.TCPConn)
		timeout time.Duration
		ended   string
		held    [2]time.Duration
	}{
		{
			name:    "reports rst when the server aborts a connection stuck at zero window",
			handle:  fill(500 * ms),
			timeout: 3 * time.Second, ended: EndedRST, held: [2]time.Duration{300 * ms, 2 * time.Second},
		},
		{
			name:    "reports open while the server is still stuck writing into the zero window",
			handle:  fill(3 * time.Second),
			timeout: 400 * ms, ended: EndedOpen, held: [2]time.Duration{200 * ms, time.Second},
		},
		{
			name: "reports fin when a short response and the server's FIN fit in the client's buffer",
			handle: func(c *net.TCPConn) {
				if readHeadTo(c, bufio.NewReader(c), 2*time.Second) != nil {
					return
				}
				_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
				_ = c.Close()
			},
			timeout: 3 * time.Second, ended: EndedFIN, held: [2]time.Duration{0, time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			c := dial(t, serve(t, tt.handle), DialOptions{RecvBuf: 4096})
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			res, err := StopReading(ctx, c, "/big", 20)
			if err != nil {
				t.Fatalf("StopReading: %v", err)
			}
			if res.Ended != tt.ended || res.Status != 200 || res.Received != 20 {
				t.Errorf("StopReading = %+v, want ended %q, status 200, 20 bytes received", res, tt.ended)
			}
			within(t, "Held", res.Held, tt.held[0], tt.held[1])
		})
	}
}

func TestResetMidBody(t *testing.T) {
	t.Run("resets the connection after the given body bytes", func(t *testing.T) {
		checkLeaks(t)
		type outcome struct {
			body int64
			err  error
		}
		got := make(chan outcome, 1)
		addr := serve(t, func(c *net.TCPConn) {
			br := bufio.NewReader(c)
			if err := readHeadTo(c, br, 2*time.Second); err != nil {
				got <- outcome{err: err}
				return
			}
			n, err := io.Copy(io.Discard, br)
			got <- outcome{n, err}
		})
		c := dial(t, addr, DialOptions{})
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		if err := ResetMidBody(ctx, c, "/up", 10000, 3000); err != nil {
			t.Fatalf("ResetMidBody: %v", err)
		}
		select {
		case o := <-got:
			if !errors.Is(o.err, syscall.ECONNRESET) || o.body > 3000 {
				t.Errorf("server read %d body bytes, then %v; want at most 3000, then ECONNRESET", o.body, o.err)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("server saw no reset within 2s")
		}
	})
}

func TestIdleHold(t *testing.T) {
	respond := func(resp string, then func(c *net.TCPConn)) func(c *net.TCPConn) {
		return func(c *net.TCPConn) {
			if readHeadTo(c, bufio.NewReader(c), 2*time.Second) != nil {
				return
			}
			_, _ = io.WriteString(c, resp)
			then(c)
		}
	}
	closeAfter := func(d time.Duration, abort bool) func(c *net.TCPConn) {
		return func(c *net.TCPConn) {
			discardFor(c, d)
			if abort {
				_ = c.SetLinger(0)
			}
			_ = c.Close()
		}
	}
	plain := "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
	chunked := "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-T: 1\r\n\r\n"
	tests := []struct {
		name    string
		handle  func(c *net.TCPConn)
		timeout time.Duration
		ended   string
		held    [2]time.Duration
	}{
		{
			name:    "reports fin after the server's idle timeout",
			handle:  respond(plain, closeAfter(300*ms, false)),
			timeout: 3 * time.Second, ended: EndedFIN, held: [2]time.Duration{250 * ms, 2 * time.Second},
		},
		{
			name:    "reads a chunked response before holding",
			handle:  respond(chunked, closeAfter(100*ms, false)),
			timeout: 3 * time.Second, ended: EndedFIN, held: [2]time.Duration{50 * ms, 2 * time.Second},
		},
		{
			name:    "reports rst when the server aborts the idle connection",
			handle:  respond(plain, closeAfter(100*ms, true)),
			timeout: 3 * time.Second, ended: EndedRST, held: [2]time.Duration{50 * ms, 2 * time.Second},
		},
		{
			name:    "reports open when the context ends before the server closes",
			handle:  respond(plain, closeAfter(3*time.Second, false)),
			timeout: 300 * ms, ended: EndedOpen, held: [2]time.Duration{100 * ms, time.Second},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			c := dial(t, serve(t, tt.handle), DialOptions{})
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			res, err := IdleHold(ctx, c, "/")
			if err != nil {
				t.Fatalf("IdleHold: %v", err)
			}
			if res.Ended != tt.ended || res.Status != 200 {
				t.Errorf("IdleHold = %+v, want ended %q status 200", res, tt.ended)
			}
			within(t, "Held", res.Held, tt.held[0], tt.held[1])
		})
	}
	t.Run("returns at once when the context is cancelled", func(t *testing.T) {
		checkLeaks(t)
		c := dial(t, serve(t, respond(plain, closeAfter(3*time.Second, false))), DialOptions{})
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(200*ms, cancel)
		start := time.Now()
		res, err := IdleHold(ctx, c, "/")
		if err != nil || res.Ended != EndedOpen {
			t.Errorf("IdleHold = %+v, %v; want open, nil", res, err)
		}
		within(t, "return time", time.Since(start), 150*ms, time.Second)
	})
}
