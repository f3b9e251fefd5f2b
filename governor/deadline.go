package governor

import "time"

// SetDeadline sets the caller's read and write deadlines. The governor's own
// deadlines still apply; the earlier one wins.
func (c *Conn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the caller's read deadline (zero: none). A read that
// times out on it returns the timeout to the caller and leaves the connection
// open.
func (c *Conn) SetReadDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.extRead
	c.extRead = t
	c.setReadLocked(c.callerLocked(c.sockRead, prev, t))
	return nil
}

// SetWriteDeadline sets the caller's write deadline (zero: none), like
// SetReadDeadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.extWrite
	c.extWrite = t
	c.setWriteLocked(c.callerLocked(c.sockWrite, prev, t))
	return nil
}

// callerLocked returns the socket deadline after a caller replaced its
// deadline prev by t, given cur, the socket's: the socket must wake an
// operation under way no later than t; a deadline armed earlier, or for the
// governor, is kept (an operation woken early re-evaluates its rules and
// the caller's deadline, and re-arms).
func (c *Conn) callerLocked(cur, prev, t time.Time) time.Time {
	switch {
	case t.IsZero():
		if cur.IsZero() || !cur.Equal(prev) {
			// The governor's own wake-up: kept without a clock read
			// (net/http clears deadlines several times per request).
			return cur
		}
		if now := c.t.now(); !cur.After(now) {
			// Expired (net/http's abortPendingRead leaves one): replace it
			// by a wake-up one horizon ahead, which the next operation's
			// rule will most likely keep, saving a timer change.
			return now.Add(c.readHorizonLocked())
		}
		return cur
	case cur.IsZero() || cur.After(t):
		return t
	}
	return cur
}
