package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

const (
	// zeroWindowBuf is the zero-window readers' SO_RCVBUF in bytes.
	zeroWindowBuf = 4096

	// zeroWindowFirst is how many bytes a zero-window reader reads before
	// it stops.
	zeroWindowFirst = 4096

	// cableFirst is how many bytes a cable-pulled peer reads before the cut,
	// and cableRead bounds that read.
	cableFirst = 64 << 10
	cableRead  = 5 * time.Second
)

// Keepalive of the peers. The zero-window readers probe soon: a server
// whose kernel gives up on a zero window (TCP_USER_TIMEOUT) drops the
// socket without a RST, so the reader would never learn; a keepalive probe
// then draws the RST. The others keep Go's default.
var (
	zeroWindowKeepAlive = net.KeepAliveConfig{Enable: true, Idle: 5 * time.Second, Interval: 2 * time.Second, Count: 3}
	defaultKeepAlive    = net.KeepAliveConfig{Enable: true}
)

// plan is who sends from which address.
type plan struct {
	legit     netip.Addr
	slowloris []netip.Addr
	zero      []netip.Addr
	cable     []netip.Addr
}

// addAddresses gives the client end of the link one address per attacker
// group member (faultkit's Link.AddClientAddrs). The legitimate client
// keeps the link's own client address alone.
func addAddresses(ctx context.Context, link *faultkit.Link, cfg config) (plan, error) {
	p := plan{legit: link.ClientIP}
	addrs, err := link.AddClientAddrs(ctx, cfg.slowlorisIPs+cfg.zeroWindowIPs+cfg.cablePullIPs)
	if err != nil {
		return p, err
	}
	p.slowloris, addrs = addrs[:cfg.slowlorisIPs], addrs[cfg.slowlorisIPs:]
	p.zero, p.cable = addrs[:cfg.zeroWindowIPs], addrs[cfg.zeroWindowIPs:]
	return p, nil
}

// dial connects from src within timeout, as the legitimate client and the
// readiness check do.
func dial(ctx context.Context, d *faultkit.Dialer, src netip.Addr, timeout time.Duration) (*net.TCPConn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	return d.Dial(ctx, faultkit.DialOptions{Source: src, KeepAlive: defaultKeepAlive})
}

// summary converts a group's counters for the report.
func summary(p *faultkit.Peers) PeerSummary {
	s := p.Summary()
	return PeerSummary{Dials: s.Dials, DialFails: s.DialFails, Endings: s.Endings, HeldP50: ms(s.HeldP50), HeldMax: ms(s.HeldMax)}
}

// attackers are the three groups of peers of one attack.
type attackers struct {
	cfg  config
	d    *faultkit.Dialer
	link *faultkit.Link
	plan plan

	slow, zero, cable *faultkit.Peers
	start             time.Time    // when the attack started
	lastCut           atomic.Int64 // nanoseconds from start to the cut in place

	mu   sync.Mutex
	cuts []net.Conn // guarded by mu: cable-pulled connections, kept open until close
}

// run starts every attacker and returns at once. Slowloris and zero-window
// slots keep reconnecting until ctx ends; the cable-pulled peers connect,
// read a little, and are then cut all at once (with base, which outlives
// ctx, so the cuts stay). The returned WaitGroup is done when every attacker
// goroutine has returned.
func (a *attackers) run(ctx, base context.Context) *sync.WaitGroup {
	var wg, cables sync.WaitGroup
	total := a.cfg.slowloris + a.cfg.zeroWindow + a.cfg.cablePull
	step := time.Duration(0)
	if total > 0 {
		step = a.cfg.rampUp / time.Duration(total)
	}
	n := 0
	start := func(fn func()) {
		delay := step * time.Duration(n)
		n++
		wg.Go(func() {
			if !sleep(ctx, delay) {
				return
			}
			fn()
		})
	}
	// Interleave the groups so each ramps up over the whole ramp-up.
	for i := range max(a.cfg.slowloris, a.cfg.zeroWindow, a.cfg.cablePull) {
		if i < a.cfg.cablePull {
			src := a.plan.cable[i%len(a.plan.cable)]
			cables.Add(1)
			start(func() {
				defer cables.Done()
				a.cablePull(ctx, src)
			})
		}
		if i < a.cfg.zeroWindow {
			src := a.plan.zero[i%len(a.plan.zero)]
			opt := faultkit.DialOptions{Source: src, RecvBuf: zeroWindowBuf, KeepAlive: zeroWindowKeepAlive}
			start(func() { a.zero.Keep(ctx, a.d, opt, a.cfg.dialTimeout, a.zeroWindowOnce) })
		}
		if i < a.cfg.slowloris {
			src := a.plan.slowloris[i%len(a.plan.slowloris)]
			opt := faultkit.DialOptions{Source: src, KeepAlive: defaultKeepAlive}
			start(func() { a.slow.Keep(ctx, a.d, opt, a.cfg.dialTimeout, a.slowlorisOnce) })
		}
	}
	if a.cfg.cablePull > 0 {
		wg.Go(func() {
			// Each cable peer is done within ramp-up + dial + read.
			waitGroup(&cables, a.cfg.rampUp+a.cfg.dialTimeout+cableRead+5*time.Second)
			a.cutAll(base)
		})
	}
	return &wg
}

// slowlorisOnce trickles a never-ending header on c until the server ends
// it or ctx ends.
func (a *attackers) slowlorisOnce(ctx context.Context, c *net.TCPConn) (faultkit.Result, error) {
	return faultkit.Slowloris(ctx, c, a.cfg.slowlorisEvery)
}

// zeroWindowOnce asks for the large file on c, reads a little and never
// again, until the server gives up or ctx ends.
func (a *attackers) zeroWindowOnce(ctx context.Context, c *net.TCPConn) (faultkit.Result, error) {
	return faultkit.StopReading(ctx, c, a.cfg.large, zeroWindowFirst)
}

// cablePull connects from src, asks for the large file, reads up to
// cableFirst bytes (bounded by cableRead: a server that does not answer is
// cut all the same) and leaves the connection to cutAll.
func (a *attackers) cablePull(ctx context.Context, src netip.Addr) {
	st := a.cable
	st.Dials.Add(1)
	c, err := dial(ctx, a.d, src, a.cfg.dialTimeout)
	if err != nil {
		if ctx.Err() == nil {
			st.DialFailed(err)
		}
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cableRead)
	res := faultkit.ReadFirst(rctx, c, a.cfg.large, cableFirst)
	cancel()
	res.Ended = "cut"
	if res.Received == 0 {
		res.Ended = "cut before any byte"
	}
	st.End(res, nil)
	a.mu.Lock()
	a.cuts = append(a.cuts, c)
	a.mu.Unlock()
}

// cutAll pulls the cable of every cable-pulled connection at once, with
// one faultkit.CutAll in the client namespace. The table goes with the
// namespace.
func (a *attackers) cutAll(ctx context.Context) {
	a.mu.Lock()
	cuts := slices.Clone(a.cuts)
	a.mu.Unlock()
	if len(cuts) == 0 {
		return
	}
	if _, err := faultkit.CutAll(ctx, a.link.Client, cuts); err != nil {
		a.cable.Count(fmt.Sprintf("cut failed: %s", clip(err.Error(), 100)), len(cuts))
		return
	}
	a.cable.Open.Store(int64(len(cuts)))
	a.lastCut.Store(int64(time.Since(a.start)))
}

// close closes the cut connections (their packets are still dropped, so
// the server sees nothing); the rules go with the client namespace.
func (a *attackers) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.cuts {
		c.Close()
	}
	a.cable.Open.Store(0)
	a.cuts = nil
}

// sleep waits d or until ctx ends, and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
