package httpd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/route"
)

// logBuf is a concurrency-safe log sink for assertions on log lines.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	srv  *Server
	addr string
	logs *logBuf
}

// start serves h on a fresh loopback listener with short bounds.
func start(t *testing.T, g governor.Options, o Options) *fixture {
	t.Helper()
	logs := &logBuf{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g.Logger = logger
	if g.HeaderTimeout == 0 {
		g.HeaderTimeout = time.Second
	}
	if g.StallTimeout == 0 {
		g.StallTimeout = time.Second
	}
	if g.IdleTimeout == 0 {
		g.IdleTimeout = 2 * time.Second
	}
	o.Governor = governor.NewTable(g)
	o.Logger = logger
	srv := New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(ln); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return &fixture{srv: srv, addr: ln.Addr().String(), logs: logs}
}

func (f *fixture) dial(t *testing.T) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", f.addr, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// waitEnd reads c until the server ends the connection (EOF or reset) or
// max passes, and returns how long that took.
func waitEnd(t *testing.T, c net.Conn, max time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	c.SetReadDeadline(start.Add(max))
	_, err := io.Copy(io.Discard, c)
	if err != nil && !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("connection not ended by the server within %v: %v", max, err)
	}
	return time.Since(start)
}

// within fails unless lo <= d <= hi.
func within(t *testing.T, what string, d, lo, hi time.Duration) {
	t.Helper()
	if d < lo || d > hi {
		t.Errorf("%s took %v, want between %v and %v", what, d, lo, hi)
	}
}

// waitCause waits (bounded) until the table has counted n closes for cause.
func waitCause(t *testing.T, f *fixture, cause governor.Cause, n uint64) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if f.srv.Governor().Stats().Closed[cause] >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("closes for %s = %d, want %d; stats %+v", cause, f.srv.Governor().Stats().Closed[cause], n, f.srv.Governor().Stats())
}

func get(t *testing.T, addr, path string) (*http.Response, string) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + addr + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

var hello = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "hello\n") })

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestSlowPeers(t *testing.T) {
	t.Run("a slowloris header is cut at the header timeout", func(t *testing.T) {
		t.Parallel()
		f := start(t, governor.Options{}, Options{Handler: hello})
		c := f.dial(t)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n")
		go func() {
			for i := 0; i < 50; i++ {
				if _, err := c.Write([]byte("X")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		within(t, "slowloris cut", waitEnd(t, c, 5*time.Second), 800*time.Millisecond, 2*time.Second)
		waitCause(t, f, governor.CauseHeaderTimeout, 1)
	})

	t.Run("a body trickled below the minimum rate is cut", func(t *testing.T) {
		t.Parallel()
		read := make(chan error, 1)
		f := start(t, governor.Options{MinRate: 10000}, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := io.Copy(io.Discard, r.Body)
			read <- err
		})})
		c := f.dial(t)
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
		go func() {
			for i := 0; i < 100; i++ {
				if _, err := c.Write(make([]byte, 100)); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		// 1 KB/s against 1s + n/10000: the rule breaks at about 1.1s.
		within(t, "min-rate cut", waitEnd(t, c, 5*time.Second), 900*time.Millisecond, 2500*time.Millisecond)
		if err := <-read; err == nil {
			t.Error("handler read the whole body; want an error")
		}
		waitCause(t, f, governor.CauseMinRate, 1)
	})

	t.Run("a body that stops is cut at the stall timeout", func(t *testing.T) {
		t.Parallel()
		f := start(t, governor.Options{BodyMinRate: -1}, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
		})})
		c := f.dial(t)
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nhalf")
		within(t, "stall cut", waitEnd(t, c, 5*time.Second), 800*time.Millisecond, 2*time.Second)
		waitCause(t, f, governor.CauseStall, 1)
	})

	t.Run("a reader that never reads is cut at the stall timeout while others are served", func(t *testing.T) {
		t.Parallel()
		wrote := make(chan error, 1)
		f := start(t, governor.Options{}, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/big" {
				io.WriteString(w, "small\n")
				return
			}
			buf := make([]byte, 64<<10)
			var err error
			for i := 0; i < 1024 && err == nil; i++ { // 64 MiB at most
				_, err = w.Write(buf)
			}
			wrote <- err
		})})
		c := f.dial(t)
		c.SetReadBuffer(4 << 10)
		io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(300 * time.Millisecond)
		for i := 0; i < 3; i++ {
			t0 := time.Now()
			if resp, body := get(t, f.addr, "/small"); resp.StatusCode != 200 || body != "small\n" {
				t.Errorf("another client got %d %q during the stall", resp.StatusCode, body)
			}
			if d := time.Since(t0); d > 500*time.Millisecond {
				t.Errorf("another client waited %v during the stall", d)
			}
		}
		select {
		case err := <-wrote:
			if err == nil {
				t.Fatal("handler wrote 64 MiB to a peer that never reads")
			}
		case <-time.After(5 * time.Second):
			t.Fatal("handler still blocked in Write 5s after a 1s stall timeout")
		}
		// The app's stall rule and the kernel's TCP_USER_TIMEOUT (= stall
		// timeout) race for a zero-window peer; either cut is abortive.
		time.Sleep(50 * time.Millisecond)
		if s := f.srv.Governor().Stats(); s.Closed[governor.CauseStall]+s.Closed[governor.CauseDeadPeer] != 1 {
			t.Errorf("stats %+v, want one stall or dead-peer close", s)
		}
	})

	t.Run("a slow but alive reader gets the whole response", func(t *testing.T) {
		t.Parallel()
		const size = 1 << 20
		f := start(t, governor.Options{StallTimeout: 500 * time.Millisecond}, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", fmt.Sprint(size))
			w.Write(make([]byte, size))
		})})
		c := f.dial(t)
		c.SetReadBuffer(8 << 10)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		br := bufio.NewReaderSize(c, 4<<10)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got int
		buf := make([]byte, 8<<10)
		start := time.Now()
		for time.Since(start) < 60*time.Second { // ~100 KB/s: about 10 s, 20 stall timeouts
			n, err := resp.Body.Read(buf)
			got += n
			if err != nil {
				break
			}
			time.Sleep(80 * time.Millisecond)
		}
		if got != size {
			t.Fatalf("slow reader got %d of %d bytes in %v", got, size, time.Since(start))
		}
		t.Logf("slow reader: %d bytes in %v with a %v stall timeout", got, time.Since(start).Round(time.Millisecond), 500*time.Millisecond)
	})

	t.Run("a reset in the middle of a body leaves nothing behind", func(t *testing.T) {
		t.Parallel()
		read := make(chan error, 1)
		f := start(t, governor.Options{}, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, err := io.Copy(io.Discard, r.Body)
			read <- err
		})})
		c := f.dial(t)
		io.WriteString(c, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
		c.Write(make([]byte, 5000))
		time.Sleep(100 * time.Millisecond)
		c.SetLinger(0)
		c.Close()
		select {
		case err := <-read:
			if err == nil {
				t.Error("handler read a whole body from a reset connection")
			}
		case <-time.After(3 * time.Second):
			t.Fatal("handler still reading 3s after the reset")
		}
		waitCause(t, f, governor.CausePeerClosed, 1)
	})
}

// blocking answers hello, except on /block, which waits for release.
func blocking(release <-chan struct{}) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/block" {
			<-release
		}
		io.WriteString(w, "hello\n")
	})
}

func TestCaps(t *testing.T) {
	t.Run("at the cap an idle connection is evicted, then a waiting header, and with neither new ones get a fast 503", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		f := start(t, governor.Options{MaxConns: 3, IdleTimeout: 10 * time.Second, HeaderTimeout: 10 * time.Second}, Options{Handler: blocking(release)})
		var idle []*net.TCPConn
		for i := 0; i < 3; i++ {
			c := f.dial(t)
			io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("request %d: %v", i, err)
			}
			resp.Body.Close()
			idle = append(idle, c)
			time.Sleep(20 * time.Millisecond)
		}
		// A fourth connection evicts the oldest idle one.
		slow := f.dial(t)
		io.WriteString(slow, "GET / HTTP/1.1\r\n") // stays in the header phase
		waitEnd(t, idle[0], 2*time.Second)
		waitCause(t, f, governor.CauseEvicted, 1)
		// Busy the other two: a fifth connection evicts the waiting header.
		for _, c := range idle[1:] {
			io.WriteString(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		}
		time.Sleep(50 * time.Millisecond)
		busy := f.dial(t)
		waitEnd(t, slow, 2*time.Second)
		waitCause(t, f, governor.CauseEvicted, 2)
		io.WriteString(busy, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(50 * time.Millisecond)
		// Nothing idle or waiting: refused.
		c := f.dial(t)
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("refused connection: %v", err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 503 || string(b) != "server at capacity\n" {
			t.Errorf("refused connection got %d %q, want 503", resp.StatusCode, b)
		}
		if s := f.srv.Governor().Stats(); s.Refused != 1 || s.Open != 3 {
			t.Errorf("stats %+v, want 1 refused and 3 open", s)
		}
	})

	t.Run("the per-IP cap evicts a waiting header of the same address, else refuses", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		f := start(t, governor.Options{MaxConnsPerIP: 2, HeaderTimeout: 10 * time.Second}, Options{Handler: blocking(release)})
		a, b := f.dial(t), f.dial(t)
		io.WriteString(a, "G")
		io.WriteString(b, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(50 * time.Millisecond)
		c := f.dial(t)
		waitEnd(t, a, 2*time.Second)
		io.WriteString(c, "GET /block HTTP/1.1\r\nHost: x\r\n\r\n")
		time.Sleep(50 * time.Millisecond)
		d := f.dial(t)
		d.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(d), nil)
		if err != nil || resp.StatusCode != 503 {
			t.Fatalf("third busy connection from one IP: %v, %v; want 503", resp, err)
		}
		resp.Body.Close()
	})
}

func TestHandlers(t *testing.T) {
	t.Run("a handler that overstays is cut and its stack logged", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		f := start(t, governor.Options{}, Options{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { stuckHandler(release) }),
			Default: route.Policy{HandlerTimeout: 300 * time.Millisecond},
		})
		c := f.dial(t)
		io.WriteString(c, "GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n")
		within(t, "overstaying handler cut", waitEnd(t, c, 5*time.Second), 1200*time.Millisecond, 2500*time.Millisecond)
		waitCause(t, f, governor.CauseHandlerTimeout, 1)
		logs := f.logs.String()
		if !strings.Contains(logs, "overstayed") || !strings.Contains(logs, "httpd.stuckHandler") {
			t.Errorf("log lacks the overstay line with the handler's stack:\n%s", logs)
		}
		fl := f.srv.Flights()
		if len(fl) != 1 || !fl[0].Overdue || !strings.Contains(fl[0].Stack, "stuckHandler") {
			t.Errorf("flights = %+v, want one overdue with its stack", fl)
		}
	})

	t.Run("a handler streaming past its deadline is not cut while data moves", func(t *testing.T) {
		f := start(t, governor.Options{}, Options{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for i := 0; i < 10; i++ {
					io.WriteString(w, "tick\n")
					http.NewResponseController(w).Flush()
					time.Sleep(200 * time.Millisecond)
				}
			}),
			Default: route.Policy{HandlerTimeout: 300 * time.Millisecond},
		})
		resp, body := get(t, f.addr, "/stream")
		if resp.StatusCode != 200 || body != strings.Repeat("tick\n", 10) {
			t.Errorf("got %d %q, want the whole 2 s stream", resp.StatusCode, body)
		}
		if n := f.srv.Governor().Stats().Closed[governor.CauseHandlerTimeout]; n != 0 {
			t.Errorf("%d handler-timeout closes, want 0", n)
		}
	})

	t.Run("each finished request is reported with its status and bytes", func(t *testing.T) {
		dones := make(chan Done, 4)
		f := start(t, governor.Options{}, Options{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(201)
				io.WriteString(w, "created")
			}),
			Done: func(d Done) { dones <- d },
		})
		c := &http.Client{Timeout: 5 * time.Second}
		defer c.CloseIdleConnections()
		resp, err := c.Post("http://"+f.addr+"/things", "text/plain", strings.NewReader("0123456789"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		d := <-dones
		if d.Status != 201 || d.BytesIn != 10 || d.BytesOut != 7 || d.Request.URL.Path != "/things" || d.ConnID == 0 {
			t.Errorf("done = %+v, want 201, 10 in, 7 out, /things, a conn id", d)
		}
	})

	t.Run("a handler that honours its deadline gets a 503 for free", func(t *testing.T) {
		f := start(t, governor.Options{}, Options{
			Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }),
			Default: route.Policy{HandlerTimeout: 200 * time.Millisecond},
		})
		if resp, _ := get(t, f.addr, "/"); resp.StatusCode != 503 {
			t.Errorf("status %d, want 503", resp.StatusCode)
		}
	})

	t.Run("a panicking handler gets a 500 and the server goes on", func(t *testing.T) {
		f := start(t, governor.Options{}, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/panic" {
				panic("boom")
			}
			io.WriteString(w, "ok")
		})})
		if resp, _ := get(t, f.addr, "/panic"); resp.StatusCode != 500 {
			t.Errorf("status %d, want 500", resp.StatusCode)
		}
		if resp, body := get(t, f.addr, "/"); resp.StatusCode != 200 || body != "ok" {
			t.Errorf("after a panic: %d %q", resp.StatusCode, body)
		}
		if !strings.Contains(f.logs.String(), "handler panic") {
			t.Error("no log line for the panic")
		}
	})

	t.Run("a body over the route's limit gets a 413", func(t *testing.T) {
		small := PoliciesFunc(func(r *http.Request) (route.Policy, string, bool) {
			if strings.HasPrefix(r.URL.Path, "/small/") {
				return route.Policy{BodyLimit: 10}, "/small", true
			}
			return route.Policy{}, "", false
		})
		f := start(t, governor.Options{}, Options{Routes: small, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
		})})
		c := &http.Client{Timeout: 5 * time.Second}
		for path, want := range map[string]int{"/small/x": 413, "/other": 200} {
			resp, err := c.Post("http://"+f.addr+path, "text/plain", strings.NewReader(strings.Repeat("x", 100)))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("POST %s: %d, want %d", path, resp.StatusCode, want)
			}
		}
		c.CloseIdleConnections()
	})

	t.Run("a malformed request gets net/http's 400 and a debug line", func(t *testing.T) {
		f := start(t, governor.Options{}, Options{Handler: hello})
		c := f.dial(t)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n")
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 400 {
			t.Fatalf("got %v, %v; want 400", resp, err)
		}
		waitEnd(t, c, 2*time.Second)
		time.Sleep(50 * time.Millisecond)
		if !strings.Contains(f.logs.String(), `status="400 Bad Request`) {
			t.Errorf("no debug line with the 400:\n%s", f.logs.String())
		}
	})
}

//go:noinline
func stuckHandler(release chan struct{}) { <-release }

func TestLifecycle(t *testing.T) {
	t.Run("shutdown is bounded by its context and cuts what is left", func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		entered := make(chan struct{})
		f := start(t, governor.Options{}, Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			close(entered)
			<-release
		})})
		c := f.dial(t)
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		<-entered
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		t0 := time.Now()
		if err := f.srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Shutdown = %v, want deadline exceeded", err)
		}
		within(t, "shutdown", time.Since(t0), 250*time.Millisecond, 1500*time.Millisecond)
		waitEnd(t, c, time.Second)
		if got := f.srv.Governor().Stats().Closed[governor.CauseShutdown]; got != 1 {
			t.Errorf("shutdown closes = %d, want 1", got)
		}
		if err := f.srv.Start(f.dialListener(t)); err == nil {
			t.Error("Start after Shutdown succeeded")
		}
	})
}

func (f *fixture) dialListener(t *testing.T) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}
