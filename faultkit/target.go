package faultkit

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// Target is a server the target-level scenarios (Target.Run, Target.Probe,
// the replay set) attack over the network, as `vigil hangcheck` does: an
// address, the Host header and request target of its URL, and the mode
// each connection speaks.
type Target struct {
	// Addr is the server's IP literal and port.
	Addr string
	// Host is the Host header (HTTP/1.1) a request carries: the URL's
	// host[:port].
	Host string
	// Path is the request target of probes and of the scenarios that do
	// not ask for a large resource.
	Path string
	// Mode is the protocol of every connection made to the target.
	Mode Mode
	// TLS is the client configuration of a TLS mode (see
	// Mode.ClientConfig); nil verifies nothing.
	TLS *tls.Config
}

const (
	// ProbeEvery is the gap between the probes of StartProbes; the first
	// one is sent ProbeEvery after the start.
	ProbeEvery = time.Second
	// ProbeTimeout bounds one probe: dial, request and status line.
	ProbeTimeout = 5 * time.Second
)

// Dial connects to the target with the options of opt and runs the TLS
// handshake of its mode, all bounded by ctx.
func (tg Target) Dial(ctx context.Context, opt DialOptions) (net.Conn, error) {
	c, err := DialTCP(ctx, tg.Addr, opt)
	if err != nil {
		return nil, err
	}
	return tg.Mode.ClientConfig(ctx, c, tg.TLS)
}

// Probe sends one GET for Path on a fresh connection of the target's mode,
// from ProbeSource, and reads the status line (HTTP/1.1) or the response
// header (HTTP/2). Any status counts as served: it returns the status and
// the latency, also on error.
func (tg Target) Probe(ctx context.Context) (int, time.Duration, error) {
	start := time.Now()
	status, err := tg.probe(ctx)
	if err != nil {
		return 0, time.Since(start), fmt.Errorf("probe: %w", err)
	}
	return status, time.Since(start), nil
}

// probe is Probe without the timing.
func (tg Target) probe(ctx context.Context) (int, error) {
	c, err := tg.Dial(ctx, DialOptions{Source: ProbeSource(tg.Addr), KeepAlive: net.KeepAliveConfig{Enable: true}})
	if err != nil {
		return 0, err
	}
	tcp, _ := TCP(c)
	defer tcp.Close() // no TLS alert: the probe just goes
	if tg.Mode == H2 {
		return probeH2(ctx, c, tg.Path)
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		c.SetDeadline(dl)
	}
	if _, err := io.WriteString(c, "GET "+tg.Path+" HTTP/1.1\r\nHost: "+tg.Host+"\r\nConnection: close\r\n\r\n"); err != nil {
		return 0, err
	}
	return readStatus(bufio.NewReaderSize(c, 512))
}

// probeH2 sends one GET for path on the h2 connection c and returns the
// status.
func probeH2(ctx context.Context, c net.Conn, path string) (int, error) {
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow})
	if err != nil {
		return 0, err
	}
	defer h.Close()
	id, err := h.Request("GET", path, false)
	if err != nil {
		return 0, err
	}
	s, ok := h.Wait(time.Time{}, func(s H2State) bool { st := s.Streams[id]; return st.Header || st.Reset })
	switch st := s.Streams[id]; {
	case ok && st.Header:
		return st.Status, nil
	case ok:
		return 0, fmt.Errorf("stream reset: %s", CodeName(st.Code))
	case s.Err != nil:
		return 0, s.Err
	}
	return 0, errors.New("no answer")
}

// ProbeSource is the local address probes of the server at addr dial from:
// for an IPv4 loopback server on Linux, 127.0.0.254 (127.0.0.253 if that is
// the server), so that a probe is another client than the scenario's
// connections and a per-IP cap that holds a flood back does not refuse it;
// elsewhere the system's choice (the zero Addr), the same address as the
// scenario's, which a per-IP cap may refuse.
func ProbeSource(addr string) netip.Addr {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil || runtime.GOOS != "linux" || !ap.Addr().Is4() || !ap.Addr().IsLoopback() {
		return netip.Addr{}
	}
	src := netip.AddrFrom4([4]byte{127, 0, 0, 254})
	if ap.Addr() == src {
		src = netip.AddrFrom4([4]byte{127, 0, 0, 253})
	}
	return src
}

// readStatus reads an HTTP/1.x status line and returns its code.
func readStatus(br *bufio.Reader) (int, error) {
	line, err := br.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	f := strings.Fields(string(line))
	if len(f) < 2 || !strings.HasPrefix(f[0], "HTTP/") {
		return 0, fmt.Errorf("bad status line %.60q", line)
	}
	code, err := strconv.Atoi(f[1])
	if err != nil || code < 100 || code > 999 {
		return 0, fmt.Errorf("bad status line %.60q", line)
	}
	return code, nil
}

// Probes is a probe loop started by StartProbes: a Probe of the target
// every ProbeEvery, each bounded by ProbeTimeout, while a scenario runs.
type Probes struct {
	cancel context.CancelFunc
	done   chan struct{}
	// ok, worst, n and err are written by the loop goroutine and read
	// after done is closed.
	ok    bool
	worst time.Duration
	n     int
	err   error // the first failed probe's error
}

// ProbeStats is what a probe loop saw.
type ProbeStats struct {
	// OK reports whether every probe was served.
	OK bool
	// Worst is the slowest probe's latency.
	Worst time.Duration
	// N is the probes that completed (a probe cut short by the loop's end
	// does not count).
	N int
	// Err is the first failed probe's error.
	Err error
}

// StartProbes starts a probe loop of tg bounded by ctx; Stop ends it.
func StartProbes(ctx context.Context, tg Target) *Probes {
	ctx, cancel := context.WithCancel(ctx)
	pl := &Probes{cancel: cancel, done: make(chan struct{}), ok: true}
	go func() {
		defer close(pl.done)
		t := time.NewTicker(ProbeEvery)
		defer t.Stop()
		for range 100000 {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, ProbeTimeout)
			_, lat, err := tg.Probe(pctx)
			pcancel()
			if dl, ok := ctx.Deadline(); ctx.Err() != nil || ok && !time.Now().Before(dl) {
				// Cut short by the scenario's end (the dial's deadline
				// can pass just before ctx reports it): not a verdict.
				return
			}
			pl.n++
			pl.worst = max(pl.worst, lat)
			if err != nil && pl.ok {
				pl.ok, pl.err = false, err
			}
		}
	}()
	return pl
}

// Stop ends the loop, waits for it and returns what it saw.
func (pl *Probes) Stop() ProbeStats {
	pl.cancel()
	<-pl.done
	return ProbeStats{OK: pl.ok, Worst: pl.worst, N: pl.n, Err: pl.err}
}
