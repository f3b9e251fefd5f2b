package vigil_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/faultkit"
	"github.com/vigilhttp/vigil/faultkit/faulttest"
	"github.com/vigilhttp/vigil/governor"
)

// pullTimeoutEnv overrides the header, stall and idle timeouts of the
// cable-pull table (a Go duration, default 2s): the figures are
// taken at 5s with VIGIL_PULL_TIMEOUT=5s go test -run TestCablePull -v .
const pullTimeoutEnv = "VIGIL_PULL_TIMEOUT"

// pullSlack is how late after its bound a server socket may go: each cell
// must see it gone within its phase's timeout plus 1 s (the issue's
// target), measured by polling ss every 50 ms: pullPoll is the
// measurement's own margin on top.
const (
	pullSlack = time.Second
	pullPoll  = 200 * time.Millisecond
)

// pullTimeout returns the header, stall and idle timeout of the table.
func pullTimeout(t *testing.T) time.Duration {
	t.Helper()
	v := os.Getenv(pullTimeoutEnv)
	if v == "" {
		return 2 * time.Second
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 500*time.Millisecond || d > time.Minute {
		t.Fatalf("%s=%q: want a duration between 500ms and 1m", pullTimeoutEnv, v)
	}
	return d
}

// pullProbe is the page probes fetch.
const pullProbe = "<h1>probe</h1>\n"

// pullRig is vigil serving HTTP (port 8080) and HTTPS (port 8443, HTTP/2 by
// ALPN, a self-signed certificate) in one namespace of a Link, its peers in
// the other.
type pullRig struct {
	link    *faultkit.Link
	srv     *vigil.Server
	http    netip.AddrPort // the server's plain address
	https   netip.AddrPort // the server's TLS address
	timeout time.Duration  // header, stall and idle
	logs    *syncBuf
}

func newPullRig(t *testing.T, timeout time.Duration) *pullRig {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	link, err := faultkit.NewLink(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { link.Close() })
	r := &pullRig{link: link, timeout: timeout, logs: &syncBuf{},
		http: netip.AddrPortFrom(link.ServerIP, 8080), https: netip.AddrPortFrom(link.ServerIP, 8443)}
	ln, err := link.Server.Listen(ctx, "tcp", r.http.String())
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	big, err := os.Create(filepath.Join(root, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(64 << 20) // sparse: served by sendfile
	big.Close()
	os.WriteFile(filepath.Join(root, "index.html"), []byte(pullProbe), 0o644)
	srv, err := vigil.New(vigil.Config{
		Listeners:     []net.Listener{ln},
		Listen:        []string{"https://" + r.https.String()},
		TLSSelfSigned: t.TempDir(),
		Root:          root,
		HeaderTimeout: timeout,
		StallTimeout:  timeout,
		IdleTimeout:   timeout,
		Logger:        slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	// Start binds the https listener on this thread: inside the namespace.
	if err := link.Server.Do(srv.Start); err != nil {
		t.Fatal(err)
	}
	r.srv = srv
	t.Cleanup(func() {
		srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", r.logs.String())
		}
	})
	return r
}

// addr returns the server's address for mode m.
func (r *pullRig) addr(m faultkit.Mode) netip.AddrPort {
	if m.TLS() {
		return r.https
	}
	return r.http
}

// dial connects from the client namespace in mode m.
func (r *pullRig) dial(t *testing.T, m faultkit.Mode, opt faultkit.DialOptions) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := r.link.Client.DialMode(ctx, m, r.addr(m).String(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// h2 starts a raw HTTP/2 client on c for the rest of the test.
func (r *pullRig) h2(t *testing.T, c net.Conn, opt faultkit.H2Options) *faultkit.H2Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*r.timeout+20*time.Second)
	h, err := faultkit.NewH2Client(ctx, c, opt)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		h.Close()
		cancel()
	})
	return h
}

// wait fails t unless cond holds for h within d.
func wait(t *testing.T, h *faultkit.H2Client, d time.Duration, what string, cond func(faultkit.H2State) bool) {
	t.Helper()
	if s, ok := h.Wait(time.Now().Add(d), cond); !ok {
		t.Fatalf("h2: %s: not within %v: %+v", what, d, s)
	}
}

// cut pulls the cable of c and returns when it did.
func (r *pullRig) cut(t *testing.T, c net.Conn) time.Time {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	cut, err := faultkit.CutConn(ctx, r.link.Client, c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		cut.Restore(ctx)
	})
	return time.Now()
}

// probe checks that a fresh client of mode m is served, quickly, while the
// cut peer is pending, and returns its latency.
func (r *pullRig) probe(t *testing.T, m faultkit.Mode) time.Duration {
	t.Helper()
	t0 := time.Now()
	c := r.dial(t, m, faultkit.DialOptions{})
	defer c.Close()
	c.SetDeadline(time.Now().Add(2 * time.Second))
	if m == faultkit.H2 {
		h := r.h2(t, c, faultkit.H2Options{Window: faultkit.MaxWindow})
		id, err := h.Request("GET", "/index.html", false)
		if err != nil {
			t.Fatalf("probe during the stall: %v", err)
		}
		s, _ := h.Wait(time.Now().Add(2*time.Second), func(s faultkit.H2State) bool { return s.Streams[id].Ended || s.Done })
		if st := s.Streams[id]; st.Status != 200 || st.Data != int64(len(pullProbe)) {
			t.Errorf("h2 probe during the stall: %+v", st)
		}
	} else {
		fmt.Fprintf(c, "GET /index.html HTTP/1.1\r\nHost: dev\r\nConnection: close\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s probe during the stall: %v", m, err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(body) != pullProbe {
			t.Errorf("%s probe during the stall: %d %q", m, resp.StatusCode, body)
		}
	}
	d := time.Since(t0)
	if d > time.Second {
		t.Errorf("%s probe during the stall took %v", m, d)
	}
	return d
}

// waitGone waits until the server's socket for c is gone (any state) and
// returns the time from start.
func (r *pullRig) waitGone(t *testing.T, m faultkit.Mode, c net.Conn, start time.Time, bound time.Duration) time.Duration {
	t.Helper()
	dl := start.Add(bound + 3*time.Second)
	if late := time.Now().Add(time.Second); dl.Before(late) {
		dl = late // the fault's bound is already past: look once more
	}
	ctx, cancel := context.WithDeadline(context.Background(), dl)
	defer cancel()
	client := c.LocalAddr().(*net.TCPAddr).AddrPort()
	if _, err := faultkit.WaitGone(ctx, r.link.Server, r.addr(m), client); err != nil {
		t.Fatalf("server socket still there %v after the fault: %v", time.Since(start).Round(time.Millisecond), err)
	}
	gone := time.Since(start)
	if gone > bound+pullSlack+pullPoll {
		t.Errorf("server socket gone %v after the fault, want within %v (+ %v to see it)", gone.Round(time.Millisecond), bound+pullSlack, pullPoll)
	}
	return gone
}

// closedBy waits up to a second for the server to log the close of c
// (the governor's "conn closed" line for c's address) and returns its
// cause, failing t unless it is one of causes. The log names the
// connection, where the Table's counters would mix in the probes'.
func (r *pullRig) closedBy(t *testing.T, c net.Conn, causes ...governor.Cause) string {
	t.Helper()
	cause := logCause(r.logs, c.LocalAddr().String(), time.Second)
	for _, want := range causes {
		if cause == want.String() {
			return cause
		}
	}
	t.Errorf("the connection from %s closed with cause %q, want one of %v", c.LocalAddr(), cause, causes)
	return cause
}

// logCause waits up to d for the governor's "conn closed" line of the
// connection from remote in logs and returns its cause ("" if none came).
func logCause(logs *syncBuf, remote string, d time.Duration) string {
	deadline := time.Now().Add(d)
	for range 1000 {
		for _, line := range strings.Split(logs.String(), "\n") {
			if !strings.Contains(line, "conn closed") || !strings.Contains(line, " remote="+remote+" ") {
				continue
			}
			if _, rest, ok := strings.Cut(line, " cause="); ok {
				cause, _, _ := strings.Cut(rest, " ")
				return cause
			}
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ""
}

// pullCell is one scenario of the table: prepare brings a fresh connection
// of the mode into the state in which its cable is pulled; causes are the
// acceptable close causes.
type pullCell struct {
	name    string
	what    string
	prepare func(t *testing.T, r *pullRig, m faultkit.Mode) net.Conn
	causes  func(m faultkit.Mode) []governor.Cause
}

// runModes runs fn as a parallel subtest for each of modes, net/http's
// run(t, fn, modes) way.
func runModes(t *testing.T, modes []faultkit.Mode, fn func(t *testing.T, m faultkit.Mode)) {
	t.Helper()
	for _, m := range modes {
		t.Run(m.String(), func(t *testing.T) {
			t.Parallel()
			fn(t, m)
		})
	}
}

// TestCablePull pulls a real cable (an nftables DROP of one connection in the
// client's network namespace: no FIN, no RST, no ACK) in each phase, and
// stops reading without a cut, over HTTP/1.1, HTTP/1.1+TLS and HTTP/2, and
// checks that the server's kernel socket is gone within the phase's timeout
// plus 1 s, while other clients are served. One log line per cell: mode,
// scenario, seconds until the server socket was gone, cause counted.
func TestCablePull(t *testing.T) {
	faulttest.Need(t)
	timeout := pullTimeout(t)
	deadOrStall := func(faultkit.Mode) []governor.Cause {
		return []governor.Cause{governor.CauseStall, governor.CauseDeadPeer}
	}
	cells := []pullCell{
		{
			name: "dl", what: "mid-download", causes: deadOrStall,
			prepare: func(t *testing.T, r *pullRig, m faultkit.Mode) net.Conn {
				c := r.dial(t, m, faultkit.DialOptions{})
				if m == faultkit.H2 {
					h := r.h2(t, c, faultkit.H2Options{Window: faultkit.MaxWindow, ConnWindow: faultkit.MaxWindow - 65535})
					id, err := h.Request("GET", "/big.bin", false)
					if err != nil {
						t.Fatal(err)
					}
					wait(t, h, 5*time.Second, "1 MiB of /big.bin", func(s faultkit.H2State) bool { return s.Streams[id].Data >= 1<<20 })
					return c
				}
				fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: dev\r\n\r\n")
				if _, err := io.CopyN(io.Discard, c, 1<<20); err != nil {
					t.Fatal(err)
				}
				return c
			},
		},
		{
			name: "zw", what: "at zero window", causes: deadOrStall,
			prepare: func(t *testing.T, r *pullRig, m faultkit.Mode) net.Conn {
				c := r.dial(t, m, faultkit.DialOptions{RecvBuf: 4 << 10})
				if m == faultkit.H2 {
					h := r.h2(t, c, faultkit.H2Options{Window: faultkit.MaxWindow, ConnWindow: faultkit.MaxWindow - 65535, StopAfter: 64 << 10})
					if _, err := h.Request("GET", "/big.bin", false); err != nil {
						t.Fatal(err)
					}
					wait(t, h, 5*time.Second, "64 KiB, then stop reading", func(s faultkit.H2State) bool { return s.Stopped })
				} else {
					fmt.Fprintf(c, "GET /big.bin HTTP/1.1\r\nHost: dev\r\n\r\n")
					if _, err := io.CopyN(io.Discard, c, 64<<10); err != nil {
						t.Fatal(err)
					}
				}
				time.Sleep(300 * time.Millisecond) // the client's window closes
				return c
			},
		},
		{
			name: "hdr", what: "mid-header",
			causes: func(m faultkit.Mode) []governor.Cause {
				if m == faultkit.H2 {
					// No stream is open yet: the connection is idle to
					// the governor, and may be found dead first.
					return []governor.Cause{governor.CauseHeaderTimeout, governor.CauseIdle, governor.CauseDeadPeer}
				}
				return []governor.Cause{governor.CauseHeaderTimeout}
			},
			prepare: func(t *testing.T, r *pullRig, m faultkit.Mode) net.Conn {
				c := r.dial(t, m, faultkit.DialOptions{})
				if m == faultkit.H2 {
					// Quiet: nothing may be written inside the half frame.
					h := r.h2(t, c, faultkit.H2Options{Quiet: true})
					frame := faultkit.AppendFrame(nil, faultkit.FrameHeaders, faultkit.FlagEndHeaders|faultkit.FlagEndStream, 1,
						faultkit.HeaderBlock("GET", "/index.html", "dev", faultkit.HeaderField{Name: "user-agent", Value: "vigil-test"}))
					if err := h.Write(frame[:len(frame)/2]); err != nil {
						t.Fatal(err)
					}
					time.Sleep(100 * time.Millisecond) // the half frame is out
					return c
				}
				fmt.Fprintf(c, "GET /index.html HTTP/1.1\r\nHost: dev\r\n")
				return c
			},
		},
		{
			name: "ka", what: "idle keep-alive",
			causes: func(faultkit.Mode) []governor.Cause {
				return []governor.Cause{governor.CauseDeadPeer, governor.CauseIdle}
			},
			prepare: func(t *testing.T, r *pullRig, m faultkit.Mode) net.Conn {
				c := r.dial(t, m, faultkit.DialOptions{})
				if m == faultkit.H2 {
					h := r.h2(t, c, faultkit.H2Options{Window: faultkit.MaxWindow})
					id, err := h.Request("GET", "/index.html", false)
					if err != nil {
						t.Fatal(err)
					}
					wait(t, h, 2*time.Second, "the response", func(s faultkit.H2State) bool { return s.Streams[id].Ended })
					return c
				}
				c.SetDeadline(time.Now().Add(2 * time.Second))
				fmt.Fprintf(c, "GET /index.html HTTP/1.1\r\nHost: dev\r\n\r\n")
				resp, err := http.ReadResponse(bufio.NewReader(c), nil)
				if err != nil {
					t.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				c.SetDeadline(time.Time{})
				return c
			},
		},
	}
	var mu sync.Mutex
	var table []string // one line per cell, logged at the end
	t.Cleanup(func() {
		slices.Sort(table)
		t.Logf("cable-pull table at %v (mode scenario seconds cause):\n%s", timeout, strings.Join(table, "\n"))
	})
	record := func(line string) {
		mu.Lock()
		table = append(table, line)
		mu.Unlock()
	}
	for _, cell := range cells {
		t.Run(cell.name, func(t *testing.T) {
			runModes(t, faultkit.Modes, func(t *testing.T, m faultkit.Mode) {
				r := newPullRig(t, timeout)
				c := cell.prepare(t, r, m)
				cutAt := r.cut(t, c)
				r.probe(t, m)
				gone := r.waitGone(t, m, c, cutAt, timeout)
				cause := r.closedBy(t, c, cell.causes(m)...)
				line := fmt.Sprintf("%-6s %-4s %5.2fs %s", m, cell.name, gone.Seconds(), cause)
				t.Logf("cable pull %s: %s (timeouts %v)", cell.what, line, timeout)
				record(line)
			})
		})
	}
	t.Run("stopped", func(t *testing.T) {
		runModes(t, faultkit.Modes, func(t *testing.T, m faultkit.Mode) {
			r := newPullRig(t, timeout)
			c := r.dial(t, m, faultkit.DialOptions{RecvBuf: 4 << 10})
			ctx, cancel := context.WithTimeout(context.Background(), timeout+3*time.Second)
			defer cancel()
			var res faultkit.Result
			var err error
			done := make(chan struct{})
			go func() {
				defer close(done)
				res, err = faultkit.StopReading(ctx, c, "/big.bin", 64<<10)
			}()
			// The probe runs while the reader is stopped.
			time.Sleep(300 * time.Millisecond)
			r.probe(t, m)
			<-done
			if err != nil {
				t.Fatal(err)
			}
			// The client must be told: a reset it receives, within stall + 1 s
			// of its last read.
			if res.Ended != faultkit.EndedRST || res.Held > timeout+pullSlack {
				t.Errorf("stopped reader: %+v, want a RST received within %v", res, timeout+pullSlack)
			}
			gone := r.waitGone(t, m, c, time.Now().Add(-res.Held), timeout)
			cause := r.closedBy(t, c, governor.CauseStall)
			line := fmt.Sprintf("%-6s %-4s %5.2fs %s (client got %s at %.2fs)", m, "stop", gone.Seconds(), cause, res.Ended, res.Held.Seconds())
			t.Logf("stopped reader, no cut: %s (timeouts %v)", line, timeout)
			record(line)
		})
	})
}

// syncBuf is a concurrency-safe log sink.
type syncBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuf) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuf) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
