package governor

import (
	"io"
	"sync"
	"syscall"
	"time"
)

// Write writes to the peer in pieces of at most WriteChunk bytes, each of
// which must make progress within the stall timeout.
func (c *Conn) Write(p []byte) (int, error) {
	var n int
	for n < len(p) {
		end := min(len(p), n+c.chunk)
		m, err := c.writeChunk(p[n:end])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

func (c *Conn) writeChunk(p []byte) (int, error) {
	var base time.Time // set by the first beginWrite
	var n int
	for {
		if err := c.beginWrite(&base, p); err != nil {
			return n, err
		}
		m, err := c.nc.Write(p[n:])
		n += m
		retry := c.endWrite(m, err, &base)
		if !retry || n == len(p) {
			return n, c.classify(err)
		}
	}
}

// ReadFrom copies r to the peer. When r is a file or a socket (possibly inside
// an *io.LimitedReader, as net/http passes it) the kernel copies it with
// sendfile or splice, one WriteChunk at a time, so that the stall timeout
// measures a stall and not the whole transfer.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	lr, _ := r.(*io.LimitedReader)
	src := r
	if lr != nil {
		src = lr.R
	}
	if _, ok := src.(syscall.Conn); !ok || c.tcp == nil {
		bp := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bp)
		return io.CopyBuffer(writerOnly{c}, r, *bp)
	}
	var total int64
	part := &io.LimitedReader{R: src}
	chunk := int64(c.chunk)
	if c.ackProgress {
		chunk = max(chunk, sendfileChunk)
	}
	for {
		part.N = chunk
		if lr != nil {
			if lr.N <= 0 {
				return total, nil
			}
			part.N = min(part.N, lr.N)
		}
		var base time.Time
		for part.N > 0 {
			if err := c.beginWrite(&base, nil); err != nil {
				return total, err
			}
			before := part.N
			m, err := c.tcp.ReadFrom(part)
			total += m
			if lr != nil {
				lr.N -= m
			}
			if retry := c.endWrite(int(m), err, &base); !retry {
				if err != nil {
					return total, c.classify(err)
				}
				if m < before {
					return total, nil // the source is exhausted
				}
			}
		}
	}
}

// sendfileChunk is the sendfile piece where the kernel's acknowledgements
// show progress (Linux TCP): a blocked call is woken every StallTimeout/4
// anyway to compare them, so pieces need not be small to measure a stall,
// and each extra sendfile call costs (measured: a 100 KiB file served 15 %
// slower in 64 KiB pieces than in one).
const sendfileChunk = 1 << 20

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// writerOnly hides ReadFrom so io.CopyBuffer does not recurse into it.
type writerOnly struct{ io.Writer }

func (c *Conn) beginWrite(base *time.Time, p []byte) error {
	now := c.t.now()
	c.mu.Lock()
	if base.IsZero() {
		// A new write is measured from now, unless the peer is still
		// behind: a write blocked since its last acknowledged progress,
		// and room in the kernel's buffer since is not the peer's
		// progress. One look at the kernel tells whether it caught up.
		*base = now
		if !c.behind.IsZero() {
			if k := tcpInfoOutq(c.tcp, false); k != nil && k.BytesAcked == c.acked {
				*base = c.behind
			} else {
				c.behind, c.held = time.Time{}, 0
				if k != nil {
					c.acked = k.BytesAcked
				}
			}
		}
	}
	if !c.tls && (c.mode == modeHeader || (c.mode == modeRequest && !c.begun)) && c.early == "" && len(p) > 0 {
		c.early = string(p[:min(len(p), 64)])
	}
	if c.mode == modeRequest && c.respStart.IsZero() {
		c.respStart = now
	}
	gov, rule := c.writeRuleLocked(*base)
	if !now.Before(gov) {
		c.mu.Unlock()
		return c.expire(rule, PhaseWrite)
	}
	c.io.Or(ioWrite)
	c.writeStart = now
	h := c.writeHorizonLocked()
	c.setWriteLocked(arm(c.sockWrite, earliest(gov, c.extWrite), now, h, h/4))
	c.mu.Unlock()
	c.showDeadline(gov, rule)
	return nil
}

// endWrite accounts for a write of m bytes and reports whether it must be
// retried; it moves base forward on any progress, including bytes the peer
// acknowledged while the write was blocked. A timeout is retried when a
// governor rule has expired, so that the next beginWrite reports the
// governor's verdict whatever woke the write.
func (c *Conn) endWrite(m int, err error, base *time.Time) (retry bool) {
	timeout := err != nil && isTimeout(err)
	var k *TCPInfo
	if timeout && c.ackProgress {
		k = tcpInfoOutq(c.tcp, false)
	}
	now := c.t.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.io.And(^ioWrite)
	if m > 0 {
		c.bytesOut.Add(int64(m))
		if c.mode == modeRequest {
			c.respBytes += int64(m)
		}
		if !timeout && !c.behind.IsZero() {
			// The peer was behind: the write completed into room in the
			// kernel's buffer, which is progress only if the peer
			// acknowledged something since.
			if k = tcpInfoOutq(c.tcp, false); k != nil && k.BytesAcked == c.acked {
				return false
			}
			c.behind, c.held = time.Time{}, 0
			if k != nil {
				c.acked = k.BytesAcked
			}
		}
		// A write cut short by a wake-up moved its bytes at some time since
		// it was issued: date that progress by the issue, not by the wake.
		// Where the peer's acknowledgements are seen, bytes that only went
		// into the kernel's buffer meanwhile are not the peer's progress.
		if !timeout || !c.ackProgress {
			at := now
			if timeout {
				at = c.writeStart
			}
			c.progress(at)
			if at.After(*base) {
				*base = at
			}
		}
	}
	if !timeout {
		return false
	}
	if k != nil {
		if k.BytesAcked != c.acked {
			// The peer acknowledged data since the last look: progress,
			// dated by the last acknowledgement's arrival, not by this
			// wake-up (see ackedAt).
			c.acked = k.BytesAcked
			at := ackedAt(k, now)
			if at.After(*base) {
				*base = at
			}
			c.progress(at)
		}
		c.behind = *base
		// An alive peer whose window is closed may be a slow reader
		// draining a large buffer (see zeroWindowAllowance).
		c.held = 0
		if k.SendWindow == 0 && !writeStalledGone(k) {
			c.held = int64(min(k.BytesAcked, uint64(c.bytesOut.Load())))
		}
	}
	if gov, _ := c.writeRuleLocked(*base); !now.Before(gov) {
		return !c.closed.Load()
	}
	if !c.extWrite.IsZero() && !now.Before(c.extWrite) {
		return false // the caller's deadline
	}
	return !c.closed.Load()
}

// ackedAt dates the newest acknowledgement of data that k shows: the last
// acknowledgement's arrival, unless data was last sent before it (a closed
// window): an answer to a window probe acknowledges no byte, so the bytes
// were acknowledged when the last data sent was, not later.
func ackedAt(k *TCPInfo, now time.Time) time.Time {
	return now.Add(-max(k.LastAckRecv, k.LastDataSent))
}
