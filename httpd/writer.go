package httpd

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// responseWriter records the status and the bytes of the response, and on
// HTTP/2 bounds each write by its stream's rules: a write of at most
// WriteChunk bytes must make progress within the stall timeout, and the
// response its minimum rate and cap, as a response has on an HTTP/1
// connection (where the connection's rules do it).
type responseWriter struct {
	http.ResponseWriter
	x      *exchange
	status int   // 0 until a final status is written
	bytes  int64 // body bytes written
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *responseWriter) wrote() bool { return w.status != 0 }

func (w *responseWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.x.st != nil {
		return w.writeStream(p)
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

// writeStream writes to an HTTP/2 stream in pieces of at most WriteChunk
// bytes, each marked as waiting on the peer with the stream's rule
// deadline: the watchdog resets a stream whose write overruns it (as
// net/http does when a write deadline passes), and the write then fails
// with a governor.TimeoutError. No deadline stays armed between writes, so
// a handler may pause between them, and an event stream stay quiet.
func (w *responseWriter) writeStream(p []byte) (int, error) {
	x := w.x
	chunk := x.st.WriteChunk()
	var n int
	for n < len(p) {
		if cause := x.cutCause(); cause != governor.CauseNone {
			return n, &governor.TimeoutError{ConnID: x.flight.connID, Cause: cause, Phase: governor.PhaseWrite}
		}
		end := min(len(p), n+chunk)
		x.st.BeginWrite()
		m, err := w.ResponseWriter.Write(p[n:end])
		n += m
		w.bytes += int64(m)
		if err := w.endStreamWrite(m, err); err != nil {
			return n, err
		}
	}
	return n, nil
}

func (w *responseWriter) endStreamWrite(m int, err error) error {
	x := w.x
	x.st.EndWrite(m)
	if cause := x.cutCause(); cause != governor.CauseNone {
		return &governor.TimeoutError{ConnID: x.flight.connID, Cause: cause, Phase: governor.PhaseWrite}
	}
	return err
}

// ReadFrom keeps net/http's sendfile path for files on HTTP/1; on HTTP/2
// the copy goes through Write, in bounded pieces.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if w.x.st != nil {
		bp := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bp)
		return io.CopyBuffer(writerOnly{w}, r, *bp)
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// writerOnly hides ReadFrom so io.Copy does not recurse into it.
type writerOnly struct{ io.Writer }

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Flush flushes buffered data, for handlers that type-assert http.Flusher;
// on HTTP/2 under the stream's write deadline.
func (w *responseWriter) Flush() {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	x := w.x
	if x.st == nil {
		http.NewResponseController(w.ResponseWriter).Flush()
		return
	}
	if x.cutCause() != governor.CauseNone {
		return
	}
	x.st.BeginWrite()
	err := http.NewResponseController(w.ResponseWriter).Flush()
	w.endStreamWrite(0, err)
}

// Hijack hands the connection over, for handlers that type-assert
// http.Hijacker (http.ResponseController finds it too). From then on the
// connection is the handler's: its reads are bounded only by the deadlines
// the handler sets, its writes by the stall rule; the handler timeout's
// watchdog leaves it alone, and nothing is written on the writer after the
// handler returns or panics (a panic closes the connection).
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.x.hijacked = true
		w.x.flight.hijacked.Store(true)
		w.x.releaseCap()
	}
	return c, brw, err
}

// SetReadDeadline and SetWriteDeadline take a handler's own deadlines
// (http.ResponseController finds them here first). On HTTP/1 they go to
// the connection, where the governor honours them beside its rules; on
// HTTP/2 to the stream, where the governor's rules are the watchdog's and
// never armed as deadlines, so the two cannot clash.
func (w *responseWriter) SetReadDeadline(d time.Time) error {
	return http.NewResponseController(w.ResponseWriter).SetReadDeadline(d)
}

// SetWriteDeadline: see SetReadDeadline.
func (w *responseWriter) SetWriteDeadline(d time.Time) error {
	x := w.x
	if x.st != nil {
		x.extWrite = d
	}
	return http.NewResponseController(w.ResponseWriter).SetWriteDeadline(d)
}
