package governor

import (
	"errors"
	"io"
	"os"
	"syscall"
	"time"
)

// CloseWrite shuts down the writing side of a TCP connection (a FIN), as
// net/http does before closing a connection whose request it did not read.
func (c *Conn) CloseWrite() error {
	if c.tcp != nil {
		return c.tcp.CloseWrite()
	}
	return nil
}

// Close closes the connection for the protocol layer. Its cause is what
// the governor learnt (peer closed, shutdown) or else a normal close, with
// a FIN; but a peer the kernel shows gone (probes or retransmissions
// unanswered) is closed abortively, as dead-peer, so that no orphan socket
// lingers for it. A graceful close bounds the orphan it leaves by setting
// TCP_USER_TIMEOUT (Options.OrphanTimeout).
func (c *Conn) Close() error { return c.CloseFor(CauseNone) }

// CloseFor closes the connection for cause, abortively (SO_LINGER 0: the
// peer, if still there, receives a RST) when cause.Abortive(). CauseNone
// means as Close. Only the first close counts; later ones return nil.
func (c *Conn) CloseFor(cause Cause) error { return c.closeFor(cause, c.Phase()) }

func (c *Conn) closeFor(cause Cause, phase Phase) error {
	if !c.closed.CompareAndSwap(false, true) {
		return nil
	}
	var ki *TCPInfo
	if c.tcp != nil {
		// The full view (with the unacknowledged bytes) for the log line of
		// an abortive close; one getsockopt for a graceful one.
		ki = tcpInfoOutq(c.tcp, cause.Abortive())
	}
	if cause == CauseNone {
		cause = c.gracefulCause(ki)
	}
	if c.tcp != nil {
		if cause.Abortive() {
			c.tcp.SetLinger(0)
		} else if o := c.orphanTimeout(ki); o > 0 {
			setUserTimeout(c.tcp, o)
		}
	}
	err := c.nc.Close()
	c.t.remove(c, cause, phase, ki)
	return err
}

// gracefulCause is the cause of a close the protocol layer asked for.
func (c *Conn) gracefulCause(ki *TCPInfo) Cause {
	if cause := Cause(c.noted.Load()); cause != CauseNone {
		return cause
	}
	if peerGone(ki, &c.t.opts) {
		return CauseDeadPeer
	}
	if c.t.shutdown.Load() {
		return CauseShutdown
	}
	c.mu.Lock()
	idle := c.mux && c.mode == modeIdle && !c.t.now().Before(c.modeStart.Add(c.t.opts.IdleTimeout-c.t.opts.IdleTimeout/8))
	c.mu.Unlock()
	if idle {
		// HTTP/2's idle timer (IdleTimeout, as ours) sent GOAWAY and closed.
		return CauseIdle
	}
	return CauseClosed
}

// orphanTimeout is the TCP_USER_TIMEOUT that bounds the orphan a graceful
// close leaves: Options.OrphanTimeout when nothing is left to send but the
// FIN; while the tail of a response is still in the kernel's buffer, four
// stall timeouts, a backstop like UserTimeout's, since a slow reader may
// still be draining it with its window closed most of the time.
func (c *Conn) orphanTimeout(ki *TCPInfo) time.Duration {
	o := &c.t.opts
	if ki != nil && (ki.Unacked > 0 || ki.NotSent > 0) {
		return 4 * o.StallTimeout
	}
	return o.OrphanTimeout
}

// peerGone reports whether the kernel's view k shows a peer that is gone
// rather than merely quiet: the kernel gave up on it itself, or its
// keepalive or window probes go unanswered, or data sent to it is being
// retransmitted with nothing heard back. A live peer answers probes and
// retransmissions with acknowledgements, even when it reads nothing.
func peerGone(k *TCPInfo, o *Options) bool {
	if k == nil {
		return false
	}
	// A socket the kernel already closed (CLOSE) was most likely reset by
	// the peer: a kernel abort (keepalive) fails a read with ETIMEDOUT,
	// which classify reports as dead-peer itself.
	idle, intvl := keepAliveSeconds(o)
	silent := k.LastAckRecv
	switch {
	case k.Probes >= 2:
		return true
	case k.Probes >= 1 && silent >= idle+intvl/2:
		return true
	case k.Unacked > 0 && k.Retransmits > 0 && silent >= max(time.Second, 4*k.RTT):
		return true
	}
	return false
}

// writeStalledGone reports whether a write that made no progress for the
// stall timeout was cut because the peer is gone (dead-peer) rather than
// alive but not reading (stall). A peer that stopped reading has every
// byte sent to it acknowledged and only the window closed; its kernel
// answers the window probes, which keeps their count at one at most (its
// acknowledgements may come as late as the next probe, so their age
// proves nothing). A vanished peer leaves data unacknowledged and
// retransmitted, or window probes unanswered.
func writeStalledGone(k *TCPInfo) bool {
	if k == nil {
		return false
	}
	return k.State == "CLOSE" || k.Unacked > 0 && (k.Retransmits > 0 || k.Lost > 0) || k.Probes >= 2
}

// keepAliveSeconds returns the keepalive idle and interval as the kernel
// uses them (rounded up to whole seconds).
func keepAliveSeconds(o *Options) (idle, intvl time.Duration) {
	up := func(d time.Duration) time.Duration { return (d + time.Second - 1) / time.Second * time.Second }
	return up(o.KeepAliveIdle), up(o.KeepAliveInterval)
}

// expire closes the connection for an expired rule that bounds phase and
// returns the error the blocked operation reports. A stalled write or an
// idle expiry whose peer the kernel shows gone is a dead-peer.
func (c *Conn) expire(rule Cause, phase Phase) error {
	cause := rule
	if c.tcp != nil && !c.closed.Load() {
		switch {
		case rule == CauseStall && phase == PhaseWrite:
			if writeStalledGone(tcpInfoOutq(c.tcp, false)) {
				cause = CauseDeadPeer
			}
		case rule == CauseIdle:
			if peerGone(tcpInfoOutq(c.tcp, false), &c.t.opts) {
				cause = CauseDeadPeer
			}
		}
	}
	c.closeFor(cause, phase)
	return &TimeoutError{ConnID: c.id, Cause: cause, Phase: phase}
}

// classify notes what an I/O error says about the peer. A peer the kernel
// gave up on is closed at once, abortively.
func (c *Conn) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case isTimeout(err):
		// A deadline, the caller's (net/http aborts its background read
		// with one after every request) or the governor's: nothing learnt
		// about the peer, and one look at the error instead of seven.
		return err
	case errors.Is(err, io.EOF), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		c.noted.CompareAndSwap(uint32(CauseNone), uint32(CausePeerClosed))
	case errors.Is(err, syscall.ETIMEDOUT), errors.Is(err, syscall.EHOSTUNREACH),
		errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EHOSTDOWN):
		c.CloseFor(CauseDeadPeer)
	}
	return err
}

// isTimeout reports whether err is a deadline expiring (a caller's or the
// governor's), as opposed to the kernel's ETIMEDOUT for a dead peer.
func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded)
}
