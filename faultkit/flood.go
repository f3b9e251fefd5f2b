package faultkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Flood is a set of connections to one server that send nothing, opened
// by OpenFlood: each holds a slot of the server's (a connection cap, a
// header timer) until the server lets it go.
type Flood struct {
	// DialErr is the error that stopped OpenFlood before it had opened
	// every connection; nil if it did.
	DialErr error

	conns []*net.TCPConn // owned by the caller's goroutine
}

// FloodEnds counts how the connections of a Flood ended.
type FloodEnds struct {
	// FIN counts those the server closed in order, RST those it reset,
	// Open those still open when Wait's context ended.
	FIN, RST, Open int
}

// OpenFlood dials up to n silent connections to addr (an IP literal and
// port) one after the other, each within dialTimeout and ctx, and stops at
// the first dial that fails (Flood.DialErr). The caller must Close the
// Flood.
func OpenFlood(ctx context.Context, addr string, n int, dialTimeout time.Duration) *Flood {
	f := &Flood{}
	for range n {
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		c, err := DialTCP(dctx, addr, DialOptions{})
		cancel()
		if err != nil {
			f.DialErr = err
			break
		}
		f.conns = append(f.conns, c)
	}
	return f
}

// Opened returns how many connections are open.
func (f *Flood) Opened() int { return len(f.conns) }

// Wait waits until the server has closed every connection of the flood,
// or ctx ends, and counts how each ended.
func (f *Flood) Wait(ctx context.Context) FloodEnds {
	ends := make([]string, len(f.conns))
	var wg sync.WaitGroup
	dl, _ := ctx.Deadline()
	for i, c := range f.conns {
		wg.Go(func() {
			c.SetReadDeadline(dl)
			_, err := io.Copy(io.Discard, io.LimitReader(c, 1<<20))
			switch {
			case err == nil:
				ends[i] = EndedFIN
			case errors.Is(err, syscall.ECONNRESET):
				ends[i] = EndedRST
			default:
				ends[i] = EndedOpen
			}
		})
	}
	stop := context.AfterFunc(ctx, func() {
		for _, c := range f.conns {
			c.SetReadDeadline(time.Unix(1, 0))
		}
	})
	wg.Wait()
	stop()
	var e FloodEnds
	for _, end := range ends {
		switch end {
		case EndedFIN:
			e.FIN++
		case EndedRST:
			e.RST++
		default:
			e.Open++
		}
	}
	return e
}

// Close closes every connection of the flood.
func (f *Flood) Close() {
	for _, c := range f.conns {
		c.Close()
	}
}

// MinAttempt is the shortest time Peers.Keep spends on one attempt: a
// refused or immediately cut attempt waits out the rest, so a peer never
// spins.
const MinAttempt = time.Second

// Peers is a group of attacking peers (the slowloris connections of a
// benchmark, say) and what they saw: Keep runs one peer, Summary sums the
// group up. Safe for concurrent use.
type Peers struct {
	// Dials and DialFails count connection attempts and failed ones.
	Dials, DialFails atomic.Int64
	// Open counts the group's connections up now (client side).
	Open atomic.Int64

	mu      sync.Mutex
	endings map[string]int  // guarded by mu: "rst", "fin after 408", ...
	held    []time.Duration // guarded by mu: how long the server held each connection it ended
}

// NewPeers returns an empty group.
func NewPeers() *Peers { return &Peers{endings: map[string]int{}} }

// End records how one connection ended: by its Result's Ended, with the
// status code if one came ("fin after 408"), or "error".
func (p *Peers) End(res Result, err error) {
	key := res.Ended
	switch {
	case err != nil && key == "":
		key = "error"
	case res.Status != 0:
		key = fmt.Sprintf("%s after %d", key, res.Status)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endings[key]++
	if res.Ended == EndedFIN || res.Ended == EndedRST {
		p.held = append(p.held, res.Held)
	}
}

// Count adds n endings of the kind key ("cut failed: ...").
func (p *Peers) Count(key string, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endings[key] += n
}

// DialFailed records a failed connect, by kind ("dial refused", ...; see
// Kind).
func (p *Peers) DialFailed(err error) {
	p.DialFails.Add(1)
	p.Count("dial "+Kind(err), 1)
}

// PeerSummary is what a group of Peers saw.
type PeerSummary struct {
	// Dials and DialFails count connection attempts and failed ones.
	Dials, DialFails int64
	// Endings counts how connections ended: "rst", "fin after 408", ...
	Endings map[string]int
	// HeldP50 and HeldMax are how long the server held the connections it
	// ended itself (zero when it ended none).
	HeldP50, HeldMax time.Duration
}

// Summary returns the group's counters.
func (p *Peers) Summary() PeerSummary {
	p.mu.Lock()
	defer p.mu.Unlock()
	sum := PeerSummary{Dials: p.Dials.Load(), DialFails: p.DialFails.Load(), Endings: map[string]int{}}
	for k, v := range p.endings {
		sum.Endings[k] = v
	}
	if len(p.held) > 0 {
		h := slices.Clone(p.held)
		slices.Sort(h)
		sum.HeldP50 = h[(len(h)-1)/2]
		sum.HeldMax = h[len(h)-1]
	}
	return sum
}

// Keep keeps one peer of the group connected until ctx ends: dial with d
// and opt (opt.Source is the peer's address) within dialTimeout, run
// scenario on the connection, close it, again. Every attempt lasts at
// least MinAttempt, so the attempts are bounded by ctx's deadline; without
// a deadline Keep returns at once.
func (p *Peers) Keep(ctx context.Context, d *Dialer, opt DialOptions, dialTimeout time.Duration, scenario func(context.Context, *net.TCPConn) (Result, error)) {
	deadline, ok := ctx.Deadline()
	if !ok {
		return
	}
	// The scenarios end at the deadline a moment before ctx reports it.
	over := func() bool { return ctx.Err() != nil || !time.Now().Before(deadline) }
	for range int(time.Until(deadline)/MinAttempt) + 2 {
		if over() {
			return
		}
		t0 := time.Now()
		dctx, cancel := context.WithTimeout(ctx, dialTimeout)
		c, err := d.Dial(dctx, opt)
		cancel()
		if over() {
			if err == nil {
				c.Close()
			}
			return
		}
		p.Dials.Add(1)
		if err != nil {
			p.DialFailed(err)
		} else {
			p.Open.Add(1)
			res, err := scenario(ctx, c)
			p.Open.Add(-1)
			c.Close()
			p.End(res, err)
		}
		if !sleep(ctx, MinAttempt-time.Since(t0)) {
			return
		}
	}
}

// ReadFirst sends a GET for path on c and reads up to n bytes of whatever
// comes back (head and body alike) within ctx, then stops: the state in
// which a cable pull (CutAll) leaves a peer mid-download. Sent and
// Received count the bytes; c is left open, its deadlines set.
func ReadFirst(ctx context.Context, c net.Conn, path string, n int64) Result {
	var res Result
	ctx, cancel := bound(ctx)
	defer cancel()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	w, err := io.WriteString(c, "GET "+path+" HTTP/1.1\r\nHost: x\r\n\r\n")
	res.Sent = int64(w)
	if err == nil {
		res.Received, _ = io.Copy(io.Discard, io.LimitReader(c, n))
	}
	return res
}

// Kind names a failure of a peer's connection for counting: "refused",
// "reset", "timeout", "eof" or "other".
func Kind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return "reset"
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "eof"
	}
	return "other"
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
