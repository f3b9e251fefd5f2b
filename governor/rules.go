package governor

import "time"

// readRuleLocked returns the governing deadline of a read that began at base,
// the cause it closes for and the phase it bounds; a zero time means no
// governor deadline.
func (c *Conn) readRuleLocked(base time.Time) (time.Time, Cause, Phase) {
	o := &c.t.opts
	switch c.mode {
	case modeHandshake:
		return c.modeStart.Add(o.HandshakeTimeout), CauseHandshake, PhaseHandshake
	case modeHeader:
		return c.modeStart.Add(o.HeaderTimeout), CauseHeaderTimeout, PhaseHeader
	case modeIdle:
		if c.mux {
			return c.modeStart.Add(o.IdleTimeout + MuxIdleGrace), CauseIdle, PhaseIdle
		}
		return c.modeStart.Add(o.IdleTimeout), CauseIdle, PhaseIdle
	case modeRequest:
		if c.expectBody {
			dl, cause := transferRule(&c.lim, base, c.bodyStart, c.bodyBytes, c.lim.bodyMinRate)
			return dl, cause, PhaseBody
		}
	}
	return time.Time{}, CauseNone, PhaseHandler
}

// writeRuleLocked is readRuleLocked for a write whose last progress was at
// base; its phase is always PhaseWrite.
func (c *Conn) writeRuleLocked(base time.Time) (time.Time, Cause) {
	stall := c.t.opts.StallTimeout
	dl, cause := base.Add(stall), CauseStall
	if c.mode == modeRequest {
		stall = c.lim.StallTimeout
		dl, cause = transferRule(&c.lim, base, c.respStart, c.respBytes, c.lim.MinRate)
	}
	if cause == CauseStall && c.held > ZeroWindowHeld {
		dl = base.Add(zeroWindowAllowance(stall, c.held, c.t.opts.ZeroWindowTimeout))
	}
	return dl, cause
}

// ZeroWindowHeld is the amount of acknowledged data a peer must hold
// unread before a closed window earns it more than the stall timeout: a
// reader holding less reopens its window (the kernel does once it has
// freed a sixteenth of its buffer, or a segment) within the stall timeout
// unless it reads slower than a few KB/s, or not at all. Measured here: a
// reader that stops after reading 64 KiB, or a MiB, holds 0.1-1.3 MiB; curl
// --limit-rate 40k..200k, after its fast start, 4-5 MiB, which it takes a
// minute or more to drain far enough to reopen its window.
const ZeroWindowHeld = 2 << 20

// zeroWindowAllowance is how long a write to a peer that is alive (it
// answers the kernel's window probes) but has its window closed may go
// without acknowledged progress: the stall timeout, or limit
// (Options.ZeroWindowTimeout) when the peer holds more than ZeroWindowHeld
// unread. A slow reader behind a large receive buffer keeps its window
// closed until it has drained a good part of it, with nothing on the wire
// but probes; a stopped reader with as large a buffer looks the same, so
// it is cut at the same bound.
func zeroWindowAllowance(stall time.Duration, held int64, limit time.Duration) time.Duration {
	if held > ZeroWindowHeld {
		return max(stall, limit)
	}
	return stall
}

// transferRule combines the stall, min-rate and cap rules of a body or
// response that started at start and has moved n bytes; base is the last
// progress of the operation under way and rate the minimum rate (0: none).
func transferRule(l *Limits, base, start time.Time, n, rate int64) (time.Time, Cause) {
	dl, cause := base.Add(l.StallTimeout), CauseStall
	if start.IsZero() {
		return dl, cause
	}
	if rate > 0 && n > 0 { // no byte yet: the stall rule says it
		allowed := l.StallTimeout + time.Duration(float64(n)/float64(rate)*float64(time.Second))
		if r := start.Add(allowed); r.Before(dl) {
			dl, cause = r, CauseMinRate
		}
	}
	if l.TransferTimeout > 0 {
		if r := start.Add(l.TransferTimeout); r.Before(dl) {
			dl, cause = r, CauseTransferTimeout
		}
	}
	return dl, cause
}

// earliest returns the earlier of two deadlines, zero meaning none.
func earliest(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}

func (c *Conn) setReadLocked(d time.Time) {
	if d.Equal(c.sockRead) {
		return
	}
	c.sockRead = d
	c.nc.SetReadDeadline(d)
}

func (c *Conn) setWriteLocked(d time.Time) {
	if d.Equal(c.sockWrite) {
		return
	}
	c.sockWrite = d
	c.nc.SetWriteDeadline(d)
}

// arm returns the deadline to give the socket for an operation whose rules
// want it woken by want (zero: never), given cur, the deadline the socket
// has. The socket's deadline is only a wake-up: the operation then
// re-evaluates its rules and either fails or goes on. So cur is kept when it
// is good enough (not later than want, not earlier than the target by more
// than slack), which saves re-arming the runtime timer on nearly every read
// and write; the target is at most one horizon ahead, which bounds how often
// a kept deadline wakes an operation early.
func arm(cur, want, now time.Time, horizon, slack time.Duration) time.Time {
	if want.IsZero() {
		if cur.After(now) {
			return cur
		}
		return time.Time{}
	}
	target := want
	if h := now.Add(horizon); h.Before(target) {
		target = h
	}
	if cur.After(now) && !cur.After(want) && !cur.Before(target.Add(-slack)) {
		return cur
	}
	return target
}

// readHorizonLocked and writeHorizonLocked are arm's horizon for reads and
// writes; their slack is an eighth and a quarter of it.
func (c *Conn) readHorizonLocked() time.Duration {
	return min(c.t.opts.HeaderTimeout, c.lim.StallTimeout)
}

// A blocked write is woken every quarter of the stall timeout to date the
// progress made meanwhile: bytes it wrote, or the peer's acknowledgements.
func (c *Conn) writeHorizonLocked() time.Duration {
	return c.lim.StallTimeout / 4
}

func (c *Conn) showDeadline(d time.Time, rule Cause) {
	var ns int64
	if d.IsZero() {
		rule = CauseNone
	} else {
		ns = c.t.mono(d)
	}
	// Loads are cheaper than stores, and the deadline shown changes far
	// less often than reads and writes happen.
	if c.deadline.Load() != ns {
		c.deadline.Store(ns)
	}
	if Cause(c.rule.Load()) != rule {
		c.rule.Store(uint32(rule))
	}
}
