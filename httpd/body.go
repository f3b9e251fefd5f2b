package httpd

import (
	"errors"
	"io"
	"os"
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

// readStream reads an HTTP/2 stream's body under the stream's deadline. A
// rule that expires resets the stream (RST_STREAM: the peer is told) and
// fails the read with a governor.TimeoutError.
func (b *body) readStream(p []byte) (int, error) {
	x := b.x
	x.armRead(x.st.BeginRead())
	n, err := b.rc.Read(p)
	b.bytes += int64(n)
	expired := err != nil && errors.Is(err, os.ErrDeadlineExceeded)
	if cause := x.st.EndRead(n, err == io.EOF, expired); cause != governor.CauseNone {
		x.reset(cause, governor.PhaseBody)
		err = &governor.TimeoutError{ConnID: x.flight.connID, Cause: cause, Phase: governor.PhaseBody}
	}
	if err != nil {
		b.err = err
		if err == io.EOF && !b.done {
			b.done = true
			x.armRead(time.Time{})
		}
	}
	return n, err
}

func (b *body) Close() error { return b.rc.Close() }

// The stream's deadlines are armed a little after the rule's (an eighth of
// the stall timeout), and re-armed only when the rule moves past them:
// HTTP/2 ends a stream's body or resets the stream when its deadline
// passes, so an armed deadline must never be earlier than the rule's, and
// re-arming on every read or write would cost a message to the
// connection's goroutine each time.
func (x *exchange) slack() time.Duration { return x.srv.gov.Options().StallTimeout / 8 }

// armRead arms the stream's read deadline for a rule deadline want (zero:
// none), or the caller's own, if earlier.
func (x *exchange) armRead(want time.Time) {
	if d := nextDeadline(x.armedRead, want, x.extRead, x.slack()); x.dl != nil && !d.Equal(x.armedRead) {
		x.armedRead = d
		x.dl.SetReadDeadline(d)
	}
}

// armWrite is armRead for the stream's write deadline.
func (x *exchange) armWrite(want time.Time) {
	if d := nextDeadline(x.armedWrite, want, x.extWrite, x.slack()); x.dl != nil && !d.Equal(x.armedWrite) {
		x.armedWrite = d
		x.dl.SetWriteDeadline(d)
	}
}

// nextDeadline returns the deadline to arm, given cur, the one armed, for
// a rule deadline want (zero: none) and the caller's ext (zero: none): cur
// while it is not before want, else want plus slack; the caller's if
// earlier.
func nextDeadline(cur, want, ext time.Time, slack time.Duration) time.Time {
	d := want
	if !want.IsZero() {
		if want.After(cur) {
			d = want.Add(slack)
		} else {
			d = cur
		}
	}
	return earliestTime(d, ext)
}

// reset ends the stream for cause: net/http resets an HTTP/2 stream whose
// write deadline has passed, so a deadline in the past tells the peer at
// once (RST_STREAM) and fails the handler's pending and later writes.
func (x *exchange) reset(cause governor.Cause, phase governor.Phase) {
	if x.cut == governor.CauseNone {
		x.cut = cause
	}
	x.st.Reset(cause, phase)
	x.armedWrite = time.Unix(1, 0)
	x.dl.SetWriteDeadline(x.armedWrite)
}

// finishStream bounds what net/http writes of the stream after the handler
// returns (the rest of a buffered response, waiting for the peer's flow
// control window): by the stall rule, as every write.
func (x *exchange) finishStream() {
	if x.cut != governor.CauseNone {
		return
	}
	x.armWrite(x.st.BeginWrite())
	x.st.EndWrite(0, false)
}

func earliestTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero() || a.Before(b):
		return a
	}
	return b
}
