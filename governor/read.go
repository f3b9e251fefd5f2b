package governor

import "time"

// armFirstRead gives the socket the wake-up of its first read (for the
// header or handshake rule) on the accepting goroutine, which the first
// Read then keeps (see arm). Arming it there rather than in that Read
// keeps the runtime's timer code off the connection goroutine's young
// stack, which it would otherwise outgrow and copy, deep in the header
// read.
func (c *Conn) armFirstRead() {
	c.mu.Lock()
	now := c.modeStart
	gov, _, _ := c.readRuleLocked(now)
	h := c.readHorizonLocked()
	c.setReadLocked(arm(c.sockRead, earliest(gov, c.extRead), now, h, h/8))
	c.mu.Unlock()
}

// Read reads from the peer, bounded by the rule of the current phase.
func (c *Conn) Read(p []byte) (int, error) {
	var base time.Time // set by the first beginRead
	for {
		if err := c.beginRead(&base); err != nil {
			return 0, err
		}
		n, err := c.nc.Read(p)
		if retry := c.endRead(n, err, base); !retry {
			return n, c.classify(err)
		}
	}
}

func (c *Conn) beginRead(base *time.Time) error {
	now := c.t.now()
	if base.IsZero() {
		*base = now
	}
	c.mu.Lock()
	gov, rule, phase := c.readRuleLocked(*base)
	if !gov.IsZero() && !now.Before(gov) {
		c.mu.Unlock()
		return c.expire(rule, phase)
	}
	if phase == PhaseBody {
		c.io.Or(ioBody)
	}
	h := c.readHorizonLocked()
	c.setReadLocked(arm(c.sockRead, earliest(gov, c.extRead), now, h, h/8))
	c.mu.Unlock()
	if !gov.IsZero() {
		c.showDeadline(gov, rule)
	}
	return nil
}

// endRead accounts for a read and reports whether it must be retried: a
// timeout is retried (and so reported by the next beginRead) when a
// governor rule has expired, even if a caller's deadline expired too, so
// that the verdict never depends on which timer woke the read; it is
// returned to the caller when only the caller's deadline has passed; and
// otherwise it was an early wake.
func (c *Conn) endRead(n int, err error, base time.Time) (retry bool) {
	now := c.t.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.io.And(^ioBody)
	if n > 0 {
		c.bytesIn.Add(int64(n))
		c.progress(now)
		switch c.mode {
		case modeIdle:
			if !c.mux {
				// The first byte of the next request starts its header
				// phase. On a multiplexed connection, frames between
				// streams (PING, WINDOW_UPDATE, SETTINGS) start nothing.
				c.mode, c.modeStart = modeHeader, now
				c.modeSince.Store(c.t.mono(now))
				c.rest.Store(uint32(PhaseHeader))
			}
		case modeRequest:
			if c.expectBody {
				c.bodyBytes += int64(n)
			}
		}
	}
	if err == nil || n > 0 || !isTimeout(err) {
		return false
	}
	if gov, _, _ := c.readRuleLocked(base); !gov.IsZero() && !now.Before(gov) {
		return !c.closed.Load()
	}
	if !c.extRead.IsZero() && !now.Before(c.extRead) {
		return false // the caller's deadline
	}
	return !c.closed.Load()
}
