package vigil

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil/httpd"
)

// accessQueue is how many access log lines may wait for the writer. A log
// destination that blocks (a full pipe, a stuck disk) must not block
// requests: beyond this, lines are dropped and counted.
const accessQueue = 4096

// accessLog writes one Combined Log Format line per request, with the
// duration in microseconds and the request body bytes appended, from a
// goroutine of its own through a bounded queue.
type accessLog struct {
	lines   chan []byte
	dropped atomic.Uint64
	pool    sync.Pool
	done    chan struct{}

	mu     sync.RWMutex // guards closed and sends on lines against close
	closed bool
}

func newAccessLog(w io.Writer) *accessLog {
	a := &accessLog{lines: make(chan []byte, accessQueue), done: make(chan struct{})}
	a.pool.New = func() any { b := make([]byte, 0, 256); return &b }
	go a.run(w)
	return a
}

// run writes queued lines until the queue is closed, flushing whenever it
// runs dry.
func (a *accessLog) run(w io.Writer) {
	defer close(a.done)
	bw := bufio.NewWriterSize(deadlineWriter{w}, 32<<10)
	for line := range a.lines {
		bw.Write(line)
		a.put(line)
		if len(a.lines) == 0 {
			bw.Flush()
		}
	}
	bw.Flush()
}

// accessWriteTimeout bounds one write to the access log where the writer
// supports deadlines (a pipe or a socket behind standard output): a reader
// that stopped leaves lines dropped, not the writer goroutine stuck.
const accessWriteTimeout = 5 * time.Second

// deadlineWriter sets a write deadline before each write when the writer
// has SetWriteDeadline (an *os.File on a pipe does; on a regular file it
// fails and the write goes ahead unbounded, as disk writes are).
type deadlineWriter struct{ w io.Writer }

func (d deadlineWriter) Write(p []byte) (int, error) {
	if dw, ok := d.w.(interface{ SetWriteDeadline(time.Time) error }); ok {
		dw.SetWriteDeadline(time.Now().Add(accessWriteTimeout))
	}
	return d.w.Write(p)
}

func (a *accessLog) put(b []byte) {
	b = b[:0]
	a.pool.Put(&b)
}

// close stops accepting lines and waits for the writer, at most d. It is
// safe to call more than once.
func (a *accessLog) close(d time.Duration) {
	a.mu.Lock()
	if !a.closed {
		a.closed = true
		close(a.lines)
	}
	a.mu.Unlock()
	select {
	case <-a.done:
	case <-time.After(d):
	}
}

// log queues the line for d, or drops it if the queue is full.
func (a *accessLog) log(d httpd.Done) {
	bp := a.pool.Get().(*[]byte)
	b := appendAccess((*bp)[:0], d)
	a.mu.RLock()
	defer a.mu.RUnlock()
	if a.closed {
		return
	}
	select {
	case a.lines <- b:
	default:
		a.dropped.Add(1)
		a.put(b)
	}
}

// appendAccess appends d in Combined Log Format plus duration (µs) and
// request body bytes:
//
//	host - user [time] "method uri proto" status bytes "referer" "agent" µs in
func appendAccess(b []byte, d httpd.Done) []byte {
	r := d.Request
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	b = append(b, host...)
	b = append(b, " - "...)
	if u, _, ok := r.BasicAuth(); ok && u != "" {
		b = appendQuotedField(b, u, false)
	} else {
		b = append(b, '-')
	}
	b = append(b, " ["...)
	b = d.Start.AppendFormat(b, "02/Jan/2006:15:04:05 -0700")
	b = append(b, "] \""...)
	b = appendQuotedField(b, r.Method+" "+r.URL.RequestURI()+" "+r.Proto, true)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, int64(d.Status), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, d.BytesOut, 10)
	b = append(b, " \""...)
	b = appendQuotedField(b, r.Referer(), true)
	b = append(b, "\" \""...)
	b = appendQuotedField(b, r.UserAgent(), true)
	b = append(b, "\" "...)
	b = strconv.AppendInt(b, d.Duration.Microseconds(), 10)
	b = append(b, ' ')
	b = strconv.AppendInt(b, d.BytesIn, 10)
	return append(b, '\n')
}

// appendQuotedField appends s with quotes, backslashes and control bytes
// escaped, so that a request cannot forge log lines.
func appendQuotedField(b []byte, s string, dashIfEmpty bool) []byte {
	if s == "" && dashIfEmpty {
		return append(b, '-')
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20 || c == 0x7f:
			b = fmt.Appendf(b, "\\x%02x", c)
		default:
			b = append(b, c)
		}
	}
	return b
}
