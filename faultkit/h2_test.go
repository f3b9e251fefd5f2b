package faultkit

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// h2Server starts Go's own HTTP/2 server (TLS, ALPN h2 and http/1.1) for
// the test with handler h; tune adjusts it before it starts. It returns the
// address.
func h2Server(t *testing.T, h http.HandlerFunc, tune func(*http.Server)) string {
	t.Helper()
	ts := httptest.NewUnstartedServer(h)
	ts.EnableHTTP2 = true
	if tune != nil {
		tune(ts.Config)
	}
	ts.StartTLS()
	t.Cleanup(func() {
		ts.CloseClientConnections()
		ts.Close()
	})
	return ts.Listener.Addr().String()
}

// dialMode dials addr in mode m for the test.
func dialMode(t *testing.T, m Mode, addr string, opt DialOptions) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	c, err := m.Dial(ctx, addr, opt)
	if err != nil {
		t.Fatalf("dial %s: %v", m, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestMode(t *testing.T) {
	checkLeaks(t)
	addr := h2Server(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, r.Proto) }, nil)
	for _, m := range []Mode{HTTPS1, H2} {
		c := dialMode(t, m, addr, DialOptions{})
		if ModeOf(c) != m {
			t.Errorf("ModeOf(a %s connection) = %s", m, ModeOf(c))
		}
		if tcp, ok := TCP(c); !ok || tcp.LocalAddr().String() != c.LocalAddr().String() {
			t.Errorf("TCP(a %s connection) = %v, %v; want the connection under it", m, tcp, ok)
		}
		if got, err := ParseMode(m.String()); got != m || err != nil {
			t.Errorf("ParseMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	t.Run("ClientConfig verifies the certificate it is given a configuration for", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		c, err := DialTCP(ctx, addr, DialOptions{})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		tc, err := H2.ClientConfig(ctx, c, &tls.Config{ServerName: "example.com"})
		if err == nil || errors.Is(err, ErrNotOffered) || !strings.Contains(err.Error(), "certificate") {
			t.Errorf("ClientConfig with an untrusted certificate = %v, %v; want a certificate error", tc, err)
		}
	})
	t.Run("h2 is refused with ErrNotOffered by a server without HTTP/2", func(t *testing.T) {
		ts := httptest.NewTLSServer(http.NotFoundHandler()) // EnableHTTP2 unset: http/1.1 only
		defer ts.Close()
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
		defer cancel()
		c, err := H2.Dial(ctx, ts.Listener.Addr().String(), DialOptions{})
		if !errors.Is(err, ErrNotOffered) {
			t.Errorf("H2.Dial = %v, %v; want ErrNotOffered", c, err)
		}
	})
}

func TestDecodeStatus(t *testing.T) {
	for _, tt := range []struct {
		name  string
		block []byte
		want  int
	}{
		{"an indexed static :status", []byte{0x88}, 200},
		{"another indexed static :status", []byte{0x8d}, 404},
		{"a table size update, then an indexed :status", []byte{0x20, 0x8b}, 304},
		{"a literal without indexing, raw value", []byte{0x08, 0x03, '5', '0', '3'}, 503},
		{"a literal with indexing, Huffman value", []byte{0x48, 0x83, 0x6c, 0x0c, 0xff}, 503},
		{"a literal with a literal name", append([]byte{0x00, 0x07}, ":status\x03429"...), 429},
		{"a field that is not :status", []byte{0x82}, 0},
		{"a truncated block", []byte{0x08, 0x03, '5'}, 0},
		{"an empty block", nil, 0},
	} {
		if got := decodeStatus(tt.block); got != tt.want {
			t.Errorf("%s: decodeStatus(% x) = %d, want %d", tt.name, tt.block, got, tt.want)
		}
	}
}

func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte{0x48, 0x83, 0x6c, 0x0c, 0xff})
	f.Add([]byte{0x20, 0x8b})
	f.Fuzz(func(t *testing.T, b []byte) {
		if s := decodeStatus(b); s != 0 && (s < 100 || s > 999) {
			t.Errorf("decodeStatus(% x) = %d", b, s)
		}
	})
}

func TestH2Client(t *testing.T) {
	checkLeaks(t)
	addr := h2Server(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/teapot":
			w.WriteHeader(418)
		case "/big":
			w.Write(bytes.Repeat([]byte("x"), 100000))
		default:
			io.WriteString(w, "hello")
		}
	}, nil)
	c := dialMode(t, H2, addr, DialOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	want := map[string]struct {
		status int
		data   int64
	}{"/": {200, 5}, "/teapot": {418, 0}, "/big": {200, 100000}}
	ids := map[string]uint32{}
	for path := range want {
		id, err := h.Request("GET", path, false)
		if err != nil {
			t.Fatal(err)
		}
		ids[path] = id
	}
	s, ok := h.Wait(time.Time{}, func(s H2State) bool {
		for _, id := range ids {
			if !s.Streams[id].Ended {
				return false
			}
		}
		return true
	})
	if !ok {
		t.Fatalf("streams did not end: %+v", s)
	}
	for path, w := range want {
		if st := s.Streams[ids[path]]; st.Status != w.status || st.Data != w.data {
			t.Errorf("GET %s: %+v, want status %d and %d bytes", path, st, w.status, w.data)
		}
	}
	if s.Settings == 0 || s.Done {
		t.Errorf("state %+v: want the server's SETTINGS and the connection open", s)
	}
	before := s.PingAcks
	h.Ping(1)
	if s, ok := h.Wait(time.Time{}, func(s H2State) bool { return s.PingAcks > before }); !ok {
		t.Errorf("PING not answered: %+v", s)
	}
}

func TestH2Scenarios(t *testing.T) {
	slow := func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			buf := bytes.Repeat([]byte("x"), 64<<10)
			for range 1000 {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
		case "/up":
			rc := http.NewResponseController(w)
			rc.SetReadDeadline(time.Now().Add(300 * ms))
			_, err := io.Copy(io.Discard, r.Body)
			if err != nil {
				w.WriteHeader(408)
				return
			}
			io.WriteString(w, "got it")
		default:
			io.WriteString(w, "hello")
		}
	}
	idle := func(s *http.Server) { s.IdleTimeout = 400 * ms }
	tests := []struct {
		name    string
		timeout time.Duration
		run     func(ctx context.Context, c net.Conn) (Result, error)
		check   func(t *testing.T, r Result)
	}{
		{
			name: "an idle connection is held until the server's IdleTimeout and its GOAWAY", timeout: 3 * time.Second,
			run: func(ctx context.Context, c net.Conn) (Result, error) { return IdleHold(ctx, c, "/") },
			check: func(t *testing.T, r Result) {
				if r.GoAway != "NO_ERROR" || r.Ended != EndedFIN || r.Status != 200 {
					t.Errorf("got %+v, want GOAWAY NO_ERROR, fin, status 200", r)
				}
				within(t, "Held", r.Held, 300*ms, 1500*ms)
			},
		},
		{
			name: "chatter on an idle connection does not keep it from its IdleTimeout", timeout: 3 * time.Second,
			run: func(ctx context.Context, c net.Conn) (Result, error) { return H2Idle(ctx, c, "/", 100*ms) },
			check: func(t *testing.T, r Result) {
				if r.GoAway != "NO_ERROR" || r.PingAcks == 0 {
					t.Errorf("got %+v, want GOAWAY NO_ERROR and PINGs answered", r)
				}
			},
		},
		{
			name: "a slow body is reported when the server gives up on the stream", timeout: 3 * time.Second,
			run: func(ctx context.Context, c net.Conn) (Result, error) { return SlowBody(ctx, c, "/up", 1000, 1, 100*ms) },
			check: func(t *testing.T, r Result) {
				if r.Status != 408 || r.Ended != EndedOpen {
					t.Errorf("got %+v, want status 408 on a connection still open", r)
				}
				within(t, "Held", r.Held, 250*ms, 1500*ms)
			},
		},
		{
			name: "a zero-window reader gets the headers, no data, and PING answers", timeout: 700 * ms,
			run: func(ctx context.Context, c net.Conn) (Result, error) { return H2ZeroWindow(ctx, c, "/big", 5, 100*ms) },
			check: func(t *testing.T, r Result) {
				if r.Streams != 5 || r.Resets != 0 || r.PingAcks < 3 || r.Ended != EndedOpen {
					t.Errorf("got %+v, want 5 streams, no reset, PINGs answered, open", r)
				}
			},
		},
		{
			name: "a TCP-level stop reading reads the first bytes, then waits", timeout: 700 * ms,
			run: func(ctx context.Context, c net.Conn) (Result, error) { return StopReading(ctx, c, "/big", 1000) },
			check: func(t *testing.T, r Result) {
				if r.Status != 200 || r.Received < 1000 || r.Ended != EndedOpen {
					t.Errorf("got %+v, want status 200, some data, open", r)
				}
				within(t, "Held", r.Held, 400*ms, 800*ms)
			},
		},
		{
			name: "a slowloris frame holds until the context ends", timeout: 500 * ms,
			run: func(ctx context.Context, c net.Conn) (Result, error) { return Slowloris(ctx, c, 50*ms) },
			check: func(t *testing.T, r Result) {
				if r.Ended != EndedOpen || r.Sent < int64(len(ClientPreface)+5) {
					t.Errorf("got %+v, want open after the preface and some bytes", r)
				}
			},
		},
		{
			name: "a rapid reset is bounded and the verdict reported", timeout: 5 * time.Second,
			run: func(ctx context.Context, c net.Conn) (Result, error) { return H2RapidReset(ctx, c, "/", 2000) },
			check: func(t *testing.T, r Result) {
				if r.Streams == 0 || (r.PingAcks == 0 && r.GoAway == "" && r.Ended == EndedOpen) {
					t.Errorf("got %+v, want streams opened and a verdict", r)
				}
			},
		},
		{
			name: "a CONTINUATION flood is cut by the server before the bound", timeout: 5 * time.Second,
			run: func(ctx context.Context, c net.Conn) (Result, error) {
				return H2ContinuationFlood(ctx, c, "/", 64<<20)
			},
			check: func(t *testing.T, r Result) {
				if r.Ended == EndedOpen || r.Sent >= 64<<20 {
					t.Errorf("got %+v, want the connection ended before 64 MiB", r)
				}
			},
		},
		{
			name: "a SETTINGS flood ends with a verdict", timeout: 5 * time.Second,
			run:   func(ctx context.Context, c net.Conn) (Result, error) { return H2SettingsFlood(ctx, c, 5000) },
			check: func(t *testing.T, r Result) {},
		},
		{
			name: "a PING flood ends with a verdict", timeout: 5 * time.Second,
			run:   func(ctx context.Context, c net.Conn) (Result, error) { return H2PingFlood(ctx, c, 5000) },
			check: func(t *testing.T, r Result) {},
		},
		{
			name: "huge headers are refused", timeout: 5 * time.Second,
			run: func(ctx context.Context, c net.Conn) (Result, error) { return H2HugeHeaders(ctx, c, "/", 2<<20) },
			check: func(t *testing.T, r Result) {
				if r.Status != 431 && r.GoAway == "" && r.Ended == EndedOpen && r.Resets == 0 {
					t.Errorf("got %+v, want 431, a reset, a GOAWAY or the end", r)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkLeaks(t)
			c := dialMode(t, H2, h2Server(t, slow, idle), DialOptions{RecvBuf: 16 << 10})
			ctx, cancel := context.WithTimeout(t.Context(), tt.timeout)
			defer cancel()
			start := time.Now()
			r, err := tt.run(ctx, c)
			if err != nil {
				t.Fatalf("%v (result %+v)", err, r)
			}
			if d := time.Since(start); d > tt.timeout+time.Second {
				t.Errorf("took %v, over its bound %v", d, tt.timeout)
			}
			t.Logf("%+v", r)
			tt.check(t, r)
		})
	}
	t.Run("a reset mid body resets the TCP connection", func(t *testing.T) {
		checkLeaks(t)
		got := make(chan error, 1)
		addr := h2Server(t, func(w http.ResponseWriter, r *http.Request) {
			_, err := io.Copy(io.Discard, r.Body)
			got <- err
		}, nil)
		c := dialMode(t, H2, addr, DialOptions{})
		if err := ResetMidBody(t.Context(), c, "/up", 100000, 20000); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-got:
			if err == nil {
				t.Error("the handler read the whole body")
			}
		case <-time.After(2 * time.Second):
			t.Error("the handler did not see the reset")
		}
	})
}

func TestHTTPS1Scenarios(t *testing.T) {
	checkLeaks(t)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, strings.Repeat("x", 100))
	}))
	ts.Config.IdleTimeout = 300 * ms
	ts.StartTLS()
	defer ts.Close()
	c := dialMode(t, HTTPS1, ts.Listener.Addr().String(), DialOptions{})
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	r, err := IdleHold(ctx, c, "/")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != 200 || r.Ended != EndedFIN {
		t.Errorf("IdleHold over TLS = %+v, want status 200 and fin", r)
	}
	within(t, "Held", r.Held, 200*ms, 1500*ms)
}
