package httpd

import (
	"io"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// body wraps a request body: it tells the governor when the body has been
// read to its end, remembers the error a handler saw, and on HTTP/2 bounds
// each read by its stream's rules (on HTTP/1 the connection's rules do).
type body struct {
	rc    io.ReadCloser
	x     *exchange
	err   error
	done  bool
	bytes int64
}

func (b *body) Read(p []byte) (int, error) {
	if b.x.st != nil {
		return b.readStream(p)
	}
	n, err := b.rc.Read(p)
	b.bytes += int64(n)
	if err != nil {
		b.err = err
		if err == io.EOF && !b.done && b.x.gc != nil {
			b.done = true
			b.x.gc.BodyDone()
		}
	}
	return n, err
}

// readStream reads an HTTP/2 stream's body, marked as waiting on the peer
// with the stream's rule deadline: the watchdog resets a stream whose read
// overruns it (RST_STREAM: the peer is told), and the read then fails with
// a governor.TimeoutError. No deadline is armed on the stream itself, so
// nothing fires between reads.
func (b *body) readStream(p []byte) (int, error) {
	x := b.x
	x.st.BeginRead()
	n, err := b.rc.Read(p)
	b.bytes += int64(n)
	x.st.EndRead(n, err == io.EOF)
	if cause := x.cutCause(); cause != governor.CauseNone {
		err = &governor.TimeoutError{ConnID: x.flight.connID, Cause: cause, Phase: governor.PhaseBody}
	}
	if err != nil {
		b.err = err
		if err == io.EOF && !b.done {
			b.done = true
		}
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// cutCause is the cause the watchdog reset the stream for; CauseNone.
func (x *exchange) cutCause() governor.Cause { return governor.Cause(x.cut.Load()) }

// reset ends the stream for cause, once, unless the handler has returned
// (its writer may then be gone): net/http resets an HTTP/2 stream whose
// write deadline has passed, so a deadline in the past tells the peer at
// once (RST_STREAM) and fails the handler's pending and later reads and
// writes. The watchdog calls it.
func (x *exchange) reset(cause governor.Cause, phase governor.Phase) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.returned || !x.cut.CompareAndSwap(uint32(governor.CauseNone), uint32(cause)) {
		return
	}
	x.st.Reset(cause, phase)
	x.dl.SetWriteDeadline(time.Unix(1, 0))
}

// finishStream bounds what net/http writes of the stream after the handler
// returns (the rest of a buffered response, waiting for the peer's flow
// control window): a write deadline, the stall rule's plus an eighth, armed
// once (the watchdog no longer sees the stream).
func (x *exchange) finishStream() {
	if x.cutCause() != governor.CauseNone || x.long {
		return
	}
	dl := x.st.BeginWrite()
	x.st.EndWrite(0)
	d := dl.Add(x.srv.gov.Options().StallTimeout / 8)
	if !x.extWrite.IsZero() && x.extWrite.Before(d) {
		d = x.extWrite // the handler's own, if earlier
	}
	x.dl.SetWriteDeadline(d)
}
