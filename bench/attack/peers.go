package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

const (
	// maxAttackIPs caps the attackers' source addresses: 198.18.X.10 up to
	// 198.18.X.249, in the link's own /24.
	maxAttackIPs = 240

	// firstAttackHost is the last byte of the first attacker address.
	firstAttackHost = 10

	// dialSlots caps the dials in flight at once: a dial runs inside
	// Netns.Do on a locked OS thread, so this also caps those threads.
	dialSlots = 64

	// zeroWindowBuf is the zero-window readers' SO_RCVBUF in bytes.
	zeroWindowBuf = 4096

	// zeroWindowFirst is how many bytes a zero-window reader reads before
	// it stops.
	zeroWindowFirst = 4096

	// cableFirst is how many bytes a cable-pulled peer reads before the cut,
	// and cableRead bounds that read.
	cableFirst = 64 << 10
	cableRead  = 5 * time.Second

	// minAttempt is the shortest time one attacker connection slot spends
	// per attempt: a refused or immediately cut attempt waits out the rest,
	// so a slot never spins.
	minAttempt = time.Second
)

// plan is who sends from which address.
type plan struct {
	legit     netip.Addr
	slowloris []netip.Addr
	zero      []netip.Addr
	cable     []netip.Addr
}

// addAddresses gives the client end of the link one address per attacker
// group member (198.18.X.10 and up, /32) and the server end a route to the
// link's /24, so replies find them. The legitimate client keeps the link's
// own client address alone.
func addAddresses(ctx context.Context, link *faultkit.Link, cfg config) (plan, error) {
	p := plan{legit: link.ClientIP}
	x := link.ServerIP.As4()
	next := firstAttackHost
	take := func(n int) []netip.Addr {
		out := make([]netip.Addr, n)
		for i := range out {
			out[i] = netip.AddrFrom4([4]byte{x[0], x[1], x[2], byte(next)})
			next++
		}
		return out
	}
	p.slowloris = take(cfg.slowlorisIPs)
	p.zero = take(cfg.zeroWindowIPs)
	p.cable = take(cfg.cablePullIPs)
	var client []string
	for _, a := range slices.Concat(p.slowloris, p.zero, p.cable) {
		client = append(client, "addr add "+a.String()+"/32 dev "+faultkit.Device)
	}
	prefix := netip.PrefixFrom(link.ServerIP, 24).Masked()
	server := []string{"route add " + prefix.String() + " dev " + faultkit.Device}
	if err := ipBatch(ctx, link.Client.Name, client); err != nil {
		return p, err
	}
	if err := ipBatch(ctx, link.Server.Name, server); err != nil {
		return p, err
	}
	return p, nil
}

// ipBatch runs `ip -n ns -batch -` with lines, bounded by 10 seconds.
func ipBatch(ctx context.Context, ns string, lines []string) error {
	ctx, cancel := context.WithTimeout(ctx, faultkit.CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "-n", ns, "-batch", "-")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\n") + "\n")
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("ip -n %s -batch: %w: %s", ns, err, strings.TrimSpace(string(out)))
	}
	return nil
}

// dialer dials the server from chosen source addresses inside the client
// namespace. faultkit's Dial and DialTCP take no local address, so it does
// its own dial inside Netns.Do. Safe for concurrent use.
type dialer struct {
	ns     *faultkit.Netns
	target string // SERVERIP:PORT
	slots  chan struct{}
}

// dial connects from src within timeout, with SO_RCVBUF rcvbuf when
// positive. TCP keepalive is off, except with rcvbuf (the zero-window
// readers): a server whose kernel gives up on a zero window
// (TCP_USER_TIMEOUT) drops the socket without a RST, so the reader would
// never learn; a keepalive probe then draws the RST.
func (d *dialer) dial(ctx context.Context, src netip.Addr, rcvbuf int, timeout time.Duration) (*net.TCPConn, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	select {
	case d.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-d.slots }()
	var c net.Conn
	err := d.ns.Do(func() error {
		nd := net.Dialer{
			KeepAliveConfig: net.KeepAliveConfig{Enable: rcvbuf > 0, Idle: 5 * time.Second, Interval: 2 * time.Second, Count: 3},
			LocalAddr:       &net.TCPAddr{IP: src.AsSlice()},
			Control: func(_, _ string, rc syscall.RawConn) error {
				if rcvbuf <= 0 {
					return nil
				}
				var serr error
				if err := rc.Control(func(fd uintptr) {
					serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
				}); err != nil {
					return err
				}
				return serr
			},
		}
		var err error
		c, err = nd.DialContext(ctx, "tcp", d.target)
		return err
	})
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

// peerStats counts what one attacker group saw. Safe for concurrent use.
type peerStats struct {
	dials, dialFails atomic.Int64
	open             atomic.Int64 // connections up now (client side)

	mu      sync.Mutex
	endings map[string]int  // guarded by mu: "rst", "fin after 408", ...
	held    []time.Duration // guarded by mu: how long the server held each connection it ended
}

func newPeerStats() *peerStats { return &peerStats{endings: map[string]int{}} }

// end records how one connection ended.
func (s *peerStats) end(res faultkit.Result, err error) {
	key := res.Ended
	switch {
	case err != nil && key == "":
		key = "error"
	case res.Status != 0:
		key = fmt.Sprintf("%s after %d", key, res.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endings[key]++
	if res.Ended == faultkit.EndedFIN || res.Ended == faultkit.EndedRST {
		s.held = append(s.held, res.Held)
	}
}

// dialFailed records a failed connect, by kind ("dial refused", ...).
func (s *peerStats) dialFailed(err error) {
	s.dialFails.Add(1)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.endings["dial "+kind(err)]++
}

// summary returns the group's counters for the report.
func (s *peerStats) summary() PeerSummary {
	s.mu.Lock()
	defer s.mu.Unlock()
	sum := PeerSummary{Dials: s.dials.Load(), DialFails: s.dialFails.Load(), Endings: map[string]int{}}
	for k, v := range s.endings {
		sum.Endings[k] = v
	}
	if len(s.held) > 0 {
		h := slices.Clone(s.held)
		slices.Sort(h)
		sum.HeldP50 = ms(h[(len(h)-1)/2])
		sum.HeldMax = ms(h[len(h)-1])
	}
	return sum
}

// attackers are the three groups of peers of one attack.
type attackers struct {
	cfg  config
	d    *dialer
	link *faultkit.Link
	plan plan

	slow, zero, cable *peerStats
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
			start(func() { a.slot(ctx, src, a.zero, zeroWindowBuf, a.zeroWindowOnce) })
		}
		if i < a.cfg.slowloris {
			src := a.plan.slowloris[i%len(a.plan.slowloris)]
			start(func() { a.slot(ctx, src, a.slow, 0, a.slowlorisOnce) })
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

// slot keeps one attacker connection up from src until ctx ends: dial, run
// once, close, again. Every attempt lasts at least minAttempt, so the number
// of attempts is bounded by the attack's length.
func (a *attackers) slot(ctx context.Context, src netip.Addr, st *peerStats, rcvbuf int, once func(context.Context, *net.TCPConn) (faultkit.Result, error)) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return
	}
	// The scenarios end at the deadline a moment before ctx reports it.
	over := func() bool { return ctx.Err() != nil || !time.Now().Before(deadline) }
	for range int(time.Until(deadline)/minAttempt) + 2 {
		if over() {
			return
		}
		t0 := time.Now()
		c, err := a.d.dial(ctx, src, rcvbuf, a.cfg.dialTimeout)
		if over() {
			if err == nil {
				c.Close()
			}
			return
		}
		st.dials.Add(1)
		if err != nil {
			st.dialFailed(err)
		} else {
			st.open.Add(1)
			res, err := once(ctx, c)
			st.open.Add(-1)
			c.Close()
			st.end(res, err)
		}
		if !sleep(ctx, minAttempt-time.Since(t0)) {
			return
		}
	}
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
	st.dials.Add(1)
	c, err := a.d.dial(ctx, src, 0, a.cfg.dialTimeout)
	if err != nil {
		if ctx.Err() == nil {
			st.dialFailed(err)
		}
		return
	}
	res := faultkit.Result{Ended: "cut"}
	c.SetDeadline(time.Now().Add(cableRead))
	req := "GET " + a.cfg.large + " HTTP/1.1\r\nHost: x\r\n\r\n"
	if n, err := io.WriteString(c, req); err == nil {
		res.Sent = int64(n)
		res.Received, _ = io.Copy(io.Discard, io.LimitReader(bufio.NewReader(c), cableFirst))
	}
	if res.Received == 0 {
		res.Ended = "cut before any byte"
	}
	st.end(res, nil)
	a.mu.Lock()
	a.cuts = append(a.cuts, c)
	a.mu.Unlock()
}

// cutAll pulls the cable of every cable-pulled connection at once: one
// nftables table in the client namespace drops both directions of each
// 4-tuple, as faultkit.CutConn does for one. (CutConn makes a table per
// connection, and each `nft` run reads the whole ruleset first, so 200
// CutConn calls took some 30 seconds here: not "at once".) The table goes
// with the namespace.
func (a *attackers) cutAll(ctx context.Context) {
	a.mu.Lock()
	var elems []string
	for _, c := range a.cuts {
		l, r := c.LocalAddr().(*net.TCPAddr).AddrPort(), c.RemoteAddr().(*net.TCPAddr).AddrPort()
		elems = append(elems, tuple(l, r), tuple(r, l))
	}
	n := len(a.cuts)
	a.mu.Unlock()
	if n == 0 {
		return
	}
	match := "ip saddr . tcp sport . ip daddr . tcp dport @conns drop"
	script := strings.Join([]string{
		"table inet vglattack {",
		"  set conns { type ipv4_addr . inet_service . ipv4_addr . inet_service; elements = { " + strings.Join(elems, ", ") + " }; }",
		"  chain in { type filter hook input priority -300; policy accept; " + match + "; }",
		"  chain out { type filter hook output priority -300; policy accept; " + match + "; }",
		"}",
	}, "\n") + "\n"
	ctx, cancel := context.WithTimeout(ctx, faultkit.CommandTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ip", "netns", "exec", a.link.Client.Name, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(script)
	cmd.WaitDelay = time.Second
	if out, err := cmd.CombinedOutput(); err != nil {
		a.cable.mu.Lock()
		a.cable.endings[fmt.Sprintf("cut failed: %v: %s", err, clip(strings.TrimSpace(string(out)), 100))] += n
		a.cable.mu.Unlock()
		return
	}
	a.cable.open.Store(int64(n))
	a.lastCut.Store(int64(time.Since(a.start)))
}

// tuple formats one direction of a connection as an element of the cut set.
func tuple(from, to netip.AddrPort) string {
	return fmt.Sprintf("%s . %d . %s . %d", from.Addr().Unmap(), from.Port(), to.Addr().Unmap(), to.Port())
}

// close closes the cut connections (their packets are still dropped, so
// the server sees nothing); the rules go with the client namespace.
func (a *attackers) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.cuts {
		c.Close()
	}
	a.cable.open.Store(0)
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
