//go:build !nethttpomithttp2

package httpd

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/route"
)

// startH2 serves o on a TLS loopback listener (HTTP/2 by ALPN) with short
// bounds, and returns the fixture and a client that speaks HTTP/2 to it,
// pinging every 200 ms while idle (as browsers and Go's client may), so
// that frames between requests are part of every test.
func startH2(t *testing.T, g governor.Options, o Options) (*fixture, *http.Client) {
	t.Helper()
	cert, pool := testCert(t)
	logs := &logBuf{}
	f := &fixture{logs: logs}
	g.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
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
	o.Logger = g.Logger
	f.srv = New(o)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.srv.StartTLS(ln, &tls.Config{Certificates: []tls.Certificate{cert}}); err != nil {
		t.Fatal(err)
	}
	f.addr = ln.Addr().String()
	tr := &http.Transport{
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
		HTTP2:             &http.HTTP2Config{SendPingTimeout: 200 * time.Millisecond, PingTimeout: time.Second},
	}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		f.srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return f, &http.Client{Transport: tr, Timeout: 10 * time.Second}
}

func waitReset(t *testing.T, f *fixture, cause governor.Cause, n uint64) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if f.srv.Governor().Stats().Resets[cause] >= n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("streams reset for %s = %d, want %d; stats %+v", cause, f.srv.Governor().Stats().Resets[cause], n, f.srv.Governor().Stats())
}

func TestHTTP2(t *testing.T) {
	t.Run("an idle connection with PINGs is kept to the idle timeout, then closed for idle", func(t *testing.T) {
		f, c := startH2(t, governor.Options{IdleTimeout: 1500 * time.Millisecond}, Options{Handler: hello})
		resp, err := c.Get("https://" + f.addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 {
			t.Fatalf("served %s, want HTTP/2", resp.Proto)
		}
		t0 := time.Now()
		waitOpen(t, f, 0, 4*time.Second)
		within(t, "an idle HTTP/2 connection's close", time.Since(t0), 1200*time.Millisecond, 2800*time.Millisecond)
		st := f.srv.Governor().Stats()
		if st.Closed[governor.CauseIdle] != 1 || st.Closed[governor.CauseHeaderTimeout] != 0 {
			t.Errorf("closes %v, want one for idle and none for header-timeout", st.Closed)
		}
	})

	t.Run("a stream body trickled below the body rate is reset, and the connection serves on", func(t *testing.T) {
		var ended atomic.Int32
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer ended.Add(1)
			if _, err := io.Copy(io.Discard, r.Body); err != nil {
				return
			}
			io.WriteString(w, "got it\n")
		})
		f, c := startH2(t, governor.Options{BodyMinRate: 1000}, Options{Handler: h})
		pr, pw := io.Pipe()
		go func() {
			defer pw.Close()
			for range 40 { // 3 B every 100 ms, bounded to 4 s
				if _, err := pw.Write([]byte("abc")); err != nil {
					return
				}
				time.Sleep(100 * time.Millisecond)
			}
		}()
		t0 := time.Now()
		resp, err := c.Post("https://"+f.addr+"/up", "text/plain", pr)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			t.Fatalf("a trickled body got %s, want the stream reset", resp.Status)
		}
		pr.CloseWithError(errors.New("done"))
		within(t, "cutting a trickled stream body", time.Since(t0), 900*time.Millisecond, 2500*time.Millisecond)
		waitReset(t, f, governor.CauseMinRate, 1)
		// The connection itself is not cut: the next request is served.
		if resp, err := c.Get("https://" + f.addr + "/"); err != nil {
			t.Errorf("a request after the reset: %v", err)
		} else {
			resp.Body.Close()
		}
		if n := f.srv.Governor().Stats().Closed[governor.CauseMinRate]; n != 0 {
			t.Errorf("%d connections closed for min-rate, want the stream alone reset", n)
		}
	})

	t.Run("streams whose window stays closed are reset at the stall timeout, their handlers end", func(t *testing.T) {
		const streams = 5
		var running, ended sync.WaitGroup
		running.Add(streams)
		ended.Add(streams)
		big := strings.Repeat("x", 64<<10)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer ended.Done()
			running.Done()
			for range 1024 { // 64 MiB at most; the client reads none of it
				if _, err := io.WriteString(w, big); err != nil {
					return
				}
			}
		})
		f, c := startH2(t, governor.Options{}, Options{Handler: h})
		ctx, cancel := context.WithTimeout(context.Background(), 8*time.Second)
		defer cancel()
		for range streams {
			req, _ := http.NewRequestWithContext(ctx, "GET", "https://"+f.addr+"/big", nil)
			go func() {
				resp, err := c.Do(req)
				if err == nil {
					<-ctx.Done() // never read: the stream's window closes
					resp.Body.Close()
				}
			}()
		}
		started := make(chan struct{})
		go func() { running.Wait(); close(started) }()
		select {
		case <-started:
		case <-time.After(5 * time.Second):
			t.Fatal("the streams' handlers did not all start within 5 s")
		}
		t0 := time.Now()
		// While blocked, each stream's row shows its write and the stall
		// rule's deadline.
		deadline := time.Now().Add(500 * time.Millisecond)
		var shown bool
		for !shown && time.Now().Before(deadline) {
			for _, ci := range f.srv.Governor().Snapshot() {
				for _, sr := range ci.StreamRows {
					shown = shown || sr.Phase == governor.PhaseWrite && sr.Rule == governor.CauseStall && sr.DeadlineIn > 0
				}
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !shown {
			t.Error("no stream row showed a blocked write with its stall deadline")
		}
		done := make(chan struct{})
		go func() { ended.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("handlers still running 5 s after their streams stalled (stall timeout 1 s)")
		}
		within(t, "ending handlers of stalled streams", time.Since(t0), 800*time.Millisecond, 3*time.Second)
		waitReset(t, f, governor.CauseStall, streams)
		cancel()
	})

	t.Run("a handler that pauses between writes longer than the stall timeout is not reset", func(t *testing.T) {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "a")
			w.(http.Flusher).Flush()
			time.Sleep(2500 * time.Millisecond) // the peer owes nothing while the handler thinks
			io.WriteString(w, "b")
		})
		f, c := startH2(t, governor.Options{}, Options{Handler: h})
		resp, err := c.Get("https://" + f.addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || string(body) != "ab" {
			t.Errorf("body %q, %v; want \"ab\"", body, err)
		}
		if n := f.srv.Governor().Stats().Resets[governor.CauseStall]; n != 0 {
			t.Errorf("%d streams reset for stall", n)
		}
	})

	t.Run("each stream is a row with its own bytes while it runs", func(t *testing.T) {
		release := make(chan struct{})
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, r.URL.Path)
			<-release
		})
		f, c := startH2(t, governor.Options{}, Options{Handler: h})
		var wg sync.WaitGroup
		for _, p := range []string{"/a", "/bb"} {
			wg.Go(func() {
				if resp, err := c.Get("https://" + f.addr + p); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			})
		}
		deadline := time.Now().Add(3 * time.Second)
		var rows []governor.StreamInfo
		for time.Now().Before(deadline) {
			if s := f.srv.Governor().Snapshot(); len(s) == 1 && len(s[0].StreamRows) == 2 {
				rows = s[0].StreamRows
				if rows[0].BytesOut > 0 && rows[1].BytesOut > 0 {
					break
				}
			}
			time.Sleep(10 * time.Millisecond)
		}
		close(release)
		wg.Wait()
		if len(rows) != 2 {
			t.Fatalf("stream rows %+v, want two", rows)
		}
		got := map[string]int64{}
		for _, r := range rows {
			got[r.Request] = r.BytesOut
		}
		if got["GET /a"] != 2 || got["GET /bb"] != 3 {
			t.Errorf("stream rows %+v, want GET /a with 2 bytes out and GET /bb with 3", rows)
		}
	})

	t.Run("a handler stuck without I/O is reported and its stream alone reset", func(t *testing.T) {
		stuck := make(chan struct{})
		defer close(stuck)
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/stuck" {
				<-stuck
				return
			}
			io.WriteString(w, "ok")
		})
		f, c := startH2(t, governor.Options{}, Options{Handler: h, Default: route.Policy{HandlerTimeout: 300 * time.Millisecond}})
		errc := make(chan error, 1)
		go func() {
			resp, err := c.Get("https://" + f.addr + "/stuck")
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		select {
		case err := <-errc:
			if err == nil {
				t.Error("the stuck handler's request succeeded, want its stream reset")
			}
		case <-time.After(4 * time.Second):
			t.Fatal("the stuck handler's stream was not reset within 4 s (handler timeout 300 ms)")
		}
		waitReset(t, f, governor.CauseHandlerTimeout, 1)
		if !strings.Contains(f.logs.String(), "handler overstayed") {
			t.Error("no log line for the overstaying handler")
		}
		if resp, err := c.Get("https://" + f.addr + "/"); err != nil {
			t.Errorf("the connection was cut with the stream: %v", err)
		} else {
			resp.Body.Close()
		}
	})
}

// waitOpen waits until the table has n connections open, at most max.
func waitOpen(t *testing.T, f *fixture, n int, max time.Duration) {
	t.Helper()
	deadline := time.Now().Add(max)
	for time.Now().Before(deadline) {
		if f.srv.Governor().Stats().Open == n {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("%d connections open after %v, want %d", f.srv.Governor().Stats().Open, max, n)
}

func TestHTTP2HandlerCaps(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			<-release
			return
		}
		io.WriteString(w, "ok")
	})
	f, c := startH2(t, governor.Options{}, Options{Handler: h, MaxHandlers: -1, MaxHandlersPerIP: 1})
	go func() {
		if resp, err := c.Get("https://" + f.addr + "/hold"); err == nil {
			resp.Body.Close()
		}
	}()
	time.Sleep(200 * time.Millisecond)            // the holding stream's handler runs
	resp, err := c.Get("https://" + f.addr + "/") // another stream of the same client, same connection
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ProtoMajor != 2 || resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("a stream over the per-client cap: %s %d, want HTTP/2 503 with Retry-After", resp.Proto, resp.StatusCode)
	}
	select {
	case release <- struct{}{}:
	case <-time.After(2 * time.Second):
		t.Fatal("the holding handler never ran")
	}
	time.Sleep(50 * time.Millisecond)
	if resp, err := c.Get("https://" + f.addr + "/"); err != nil || resp.StatusCode != 200 {
		t.Errorf("after the holder ended: %v %v, want 200 on the same connection", resp, err)
	} else {
		resp.Body.Close()
	}
	if n := f.srv.Governor().Stats().Accepted; n != 1 {
		t.Errorf("%d connections accepted, want the one connection throughout", n)
	}
}
