package faultkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// How a scenario's connection ended, as reported in Result.Ended.
const (
	// EndedFIN means the server closed the connection in order: the client
	// read EOF (or, in StopReading, its socket went to CLOSE-WAIT).
	EndedFIN = "fin"
	// EndedRST means the server reset the connection (ECONNRESET or EPIPE;
	// in StopReading, the client socket went to CLOSE). Note that a server
	// that closes while request bytes sit unread in its receive buffer
	// resets rather than closes (Linux), so "rst" is normal after a
	// slowloris or slow body is cut off.
	EndedRST = "rst"
	// EndedOpen means the connection was still open when the scenario
	// ended: its context ended first, or the server answered and kept the
	// connection alive.
	EndedOpen = "open"
)

const (
	// headCap is how many of the first bytes received a session keeps to
	// read the status line from.
	headCap = 512

	// tcpInfoEvery is how often StopReading polls the client socket's state.
	tcpInfoEvery = 50 * time.Millisecond

	// bodyPiece caps one write of a request body.
	bodyPiece = 32 << 10

	// maxReads caps the reads of one drain.
	maxReads = 1 << 24

	// TCP states of Linux (include/net/tcp_states.h).
	tcpEstablished = 1
	tcpClose       = 7
	tcpCloseWait   = 8
)

// Result is what a scenario observed. When a scenario returns an error,
// Result holds what happened before it and Ended may be empty.
type Result struct {
	// Sent is the bytes the client wrote (request head and body).
	Sent int64
	// Received is the bytes the client read from the server.
	Received int64
	// Status is the status code of the server's (final) response, or 0 if
	// none was seen.
	Status int
	// Ended is how the connection ended: EndedFIN, EndedRST or EndedOpen.
	Ended string
	// Held is how long the server kept the connection during the
	// scenario's stall, from the moment each scenario documents until the
	// end was observed (or the context ended).
	Held time.Duration

	// The fields below are filled by HTTP/2 scenarios only.

	// GoAway names the error code of the server's GOAWAY frame
	// ("NO_ERROR", "ENHANCE_YOUR_CALM", ...); empty when none came.
	GoAway string
	// Resets counts the server's RST_STREAM frames; ResetCode names the
	// code of one of them.
	Resets    int
	ResetCode string
	// Streams counts the streams the scenario opened.
	Streams int
	// PingAcks counts the server's answers to the client's PINGs.
	PingAcks int

	// The fields below are filled by WebSocket scenarios only.

	// Pings counts the server's WebSocket pings.
	Pings int
	// CloseCode is the status code of the server's close frame (1005 for
	// one without a code); zero when none came. CloseAt is when it came,
	// since the start of Held.
	CloseCode int
	CloseAt   time.Duration
}

// session is one scenario on one connection: it counts bytes, bounds every
// operation by the context, and maps errors to endings. It is used by one
// goroutine.
type session struct {
	c        net.Conn
	ctx      context.Context
	deadline time.Time     // ctx's deadline
	br       *bufio.Reader // reads through the session, for responses
	res      Result
	head     []byte    // first bytes received, at most headCap
	held     time.Time // start of the stall; zero until then
}

// newSession starts a session on c bounded by ctx (DefaultTimeout if it has
// no deadline). The returned function must be called when the scenario ends.
// Cancelling ctx interrupts blocked I/O by moving c's deadlines to the past.
func newSession(ctx context.Context, c net.Conn) (*session, func()) {
	ctx, cancel := bound(ctx)
	dl, _ := ctx.Deadline()
	s := &session{c: c, ctx: ctx, deadline: dl}
	s.br = bufio.NewReader(s)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	return s, func() {
		stop()
		cancel()
	}
}

// Read reads from the connection, counting bytes and keeping the first ones.
func (s *session) Read(p []byte) (int, error) {
	n, err := s.c.Read(p)
	s.res.Received += int64(n)
	if room := headCap - len(s.head); room > 0 {
		s.head = append(s.head, p[:min(n, room)]...)
	}
	return n, err
}

// write writes p within the context's deadline, counting bytes.
func (s *session) write(p []byte) error {
	if err := s.c.SetWriteDeadline(s.deadline); err != nil {
		return err
	}
	if s.ctx.Err() != nil {
		return os.ErrDeadlineExceeded
	}
	n, err := s.c.Write(p)
	s.res.Sent += int64(n)
	return err
}

// readUntil sets the read deadline to t, capped by the context's deadline.
// It reports false when the context has already ended.
func (s *session) readUntil(t time.Time) bool {
	if s.deadline.Before(t) {
		t = s.deadline
	}
	if err := s.c.SetReadDeadline(t); err != nil {
		return false
	}
	return s.ctx.Err() == nil
}

// over reports whether err ends the session and, if so, records how. A
// timeout before the context's deadline is the end of one step only. An
// error the peer cannot cause is returned, with Ended left empty.
func (s *session) over(err error) (bool, error) {
	switch {
	case err == nil:
		return false, nil
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		s.finish(EndedFIN)
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		s.finish(EndedRST)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if s.ctx.Err() == nil && time.Now().Before(s.deadline) {
			return false, nil
		}
		s.finish(EndedOpen)
	default:
		s.finish("")
		return true, fmt.Errorf("after %d bytes sent, %d received: %w", s.res.Sent, s.res.Received, err)
	}
	return true, nil
}

// finish records how the session ended, how long it was held and the status
// code (from the first bytes received, unless a response was parsed).
func (s *session) finish(ended string) {
	s.res.Ended = ended
	if !s.held.IsZero() {
		s.res.Held = time.Since(s.held)
	}
	if s.res.Status == 0 {
		s.res.Status = statusOf(s.head)
	}
}

// await waits until t (or the context's end) for the server to send
// something or to close, without consuming anything. It reports whether
// the server sent data, and whether the session is over.
func (s *session) await(t time.Time) (answered, over bool, err error) {
	if !s.readUntil(t) {
		s.finish(EndedOpen)
		return false, true, nil
	}
	if _, err := s.br.Peek(1); err != nil {
		over, err := s.over(err)
		return false, over, err
	}
	return true, false, nil
}

// answer reads the server's response; then, if the server announced it
// would close, drains until it does, else ends the session as open.
func (s *session) answer() (Result, error) {
	if !s.readUntil(s.deadline) {
		s.finish(EndedOpen)
		return s.res, nil
	}
	status, closing, err := readResponse(s.br)
	s.res.Status = status
	if err != nil {
		if _, err := s.over(err); err != nil {
			return s.res, fmt.Errorf("response: %w", err)
		}
		return s.res, nil
	}
	if !closing {
		s.finish(EndedOpen)
		return s.res, nil
	}
	return s.drain()
}

// drain reads and discards until the server closes or the context ends.
func (s *session) drain() (Result, error) {
	if !s.readUntil(s.deadline) {
		s.finish(EndedOpen)
		return s.res, nil
	}
	buf := make([]byte, 32<<10)
	for range maxReads {
		if _, err := s.br.Read(buf); err != nil {
			if over, err := s.over(err); over {
				return s.res, err
			}
		}
	}
	s.finish(EndedOpen)
	return s.res, nil
}

// fail ends the session on a write or read error.
func (s *session) fail(err error) (Result, error) {
	if _, ferr := s.over(err); ferr != nil {
		return s.res, ferr
	}
	if s.res.Ended == "" {
		s.finish(EndedOpen)
	}
	return s.res, nil
}

// Slowloris sends "GET / HTTP/1.1\r\nHost: x\r\n" on c, then one byte of
// header lines ("X-a: b\r\n" repeated) per every, never ending the header,
// until the server closes or ctx ends (DefaultTimeout without a deadline).
// If the server answers (say 408), Slowloris reads the response and, when
// the server announces a close, waits for it. Held runs from the first byte
// sent. c is not closed, and its deadlines are left set.
//
// On an HTTP/2 connection (see Mode) Slowloris sends the preface and its
// SETTINGS, then a HEADERS frame for GET / whose 16,000-byte payload it
// trickles one byte per every, so no frame ever completes; it answers
// nothing meanwhile (it cannot write between two bytes of one frame). Held
// runs from the preface to the end, and GoAway tells what the server said.
func Slowloris(ctx context.Context, c net.Conn, every time.Duration) (res Result, err error) {
	defer func() { err = prefix("slowloris", err) }()
	if every <= 0 {
		return Result{}, fmt.Errorf("every %v is not positive", every)
	}
	if ModeOf(c) == H2 {
		return h2Slowloris(ctx, c, every)
	}
	s, done := newSession(ctx, c)
	defer done()
	s.held = time.Now()
	if err := s.write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")); err != nil {
		return s.fail(err)
	}
	const line = "X-a: b\r\n"
	steps := int(time.Until(s.deadline)/every) + 2
	for i := range steps {
		answered, over, err := s.await(time.Now().Add(every))
		if over {
			return s.res, err
		}
		if answered {
			return s.answer()
		}
		if err := s.write([]byte{line[i%len(line)]}); err != nil {
			return s.fail(err)
		}
	}
	s.finish(EndedOpen)
	return s.res, nil
}

// SlowBody sends a POST for path on c declaring Content-Length size, then
// trickles the body, chunk bytes per every, and reads the response. If the
// server answers or closes before the body is complete, SlowBody stops
// sending and reports it. After a response the connection is reported
// "open" unless the server announced a close, which SlowBody then waits
// for. Held runs from the end of the request head. c is not closed, and its
// deadlines are left set.
//
// On an HTTP/2 connection SlowBody sends the POST as a HEADERS frame on
// stream 1 and the body as DATA frames of chunk bytes, one per every, until
// the server resets the stream (RST_STREAM, counted in Resets), answers it,
// or ends the connection. Held then runs to the stream's end, and Ended is
// the connection's state at that moment ("open" when only the stream was
// reset).
func SlowBody(ctx context.Context, c net.Conn, path string, size int64, chunk int, every time.Duration) (res Result, err error) {
	defer func() { err = prefix("slow body", err) }()
	if size < 0 || chunk <= 0 || every <= 0 {
		return Result{}, fmt.Errorf("size %d, chunk %d, every %v: need size >= 0, chunk > 0, every > 0", size, chunk, every)
	}
	if ModeOf(c) == H2 {
		return h2SlowBody(ctx, c, path, size, chunk, every)
	}
	s, done := newSession(ctx, c)
	defer done()
	head := "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
		strconv.FormatInt(size, 10) + "\r\n\r\n"
	if err := s.write([]byte(head)); err != nil {
		return s.fail(err)
	}
	s.held = time.Now()
	piece := make([]byte, min(int64(chunk), size, bodyPiece))
	for i := range piece {
		piece[i] = 'a'
	}
	var sent int64
	for range size/int64(chunk) + 2 {
		if sent >= size {
			break
		}
		n := min(int64(chunk), size-sent)
		for w := int64(0); w < n; {
			p := piece[:min(n-w, int64(len(piece)))]
			if err := s.write(p); err != nil {
				return s.fail(err)
			}
			w += int64(len(p))
		}
		sent += n
		if sent >= size {
			break
		}
		answered, over, err := s.await(time.Now().Add(every))
		if over {
			return s.res, err
		}
		if answered {
			break
		}
	}
	return s.answer()
}

// StopReading sends a GET for path on c, reads the first readFirst bytes of
// whatever comes back (head and body alike), then never reads again, so the
// client's receive buffer fills and it advertises a zero window. It waits
// until the server gives up on the connection or ctx ends.
//
// Reading would reopen the window, so StopReading watches the kernel instead:
// every 50ms it reads the client socket's TCP state (TCP_INFO). CLOSE-WAIT
// means the server's FIN arrived (possible only once everything it sent fits
// in the client's buffer: a FIN queues behind unsent data, so a server cannot
// close a zero-window connection in order); CLOSE means it reset. c must
// be a TCP connection or run on one (a *tls.Conn does: see TCP); dial it
// with a small DialOptions.RecvBuf to reach the zero window after few
// bytes. Held runs from the moment reading stopped. c is not closed, and
// its deadlines are left set.
//
// On an HTTP/2 connection StopReading grants the server the largest
// windows, sends the GET on stream 1, and stops reading the socket once the
// response header and readFirst bytes of DATA are in: the stall is at the
// TCP level, below HTTP/2's own flow control.
func StopReading(ctx context.Context, c net.Conn, path string, readFirst int64) (res Result, err error) {
	defer func() { err = prefix("stop reading", err) }()
	if readFirst < 0 {
		return Result{}, fmt.Errorf("need readFirst >= 0 (got %d)", readFirst)
	}
	rc, err := rawConn(c)
	if err != nil {
		return Result{}, err
	}
	if ModeOf(c) == H2 {
		return h2StopReading(ctx, c, rc, path, readFirst)
	}
	s, done := newSession(ctx, c)
	defer done()
	if err := s.write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return s.fail(err)
	}
	buf := make([]byte, 32<<10)
	if !s.readUntil(s.deadline) {
		s.finish(EndedOpen)
		return s.res, nil
	}
	for read := int64(0); read < readFirst; {
		n, err := s.Read(buf[:min(int64(len(buf)), readFirst-read)])
		read += int64(n)
		if err != nil {
			return s.fail(err)
		}
	}
	s.held = time.Now()
	ended, err := watchState(s.ctx, s.deadline, rc)
	s.finish(ended)
	return s.res, err
}

// watchState polls the TCP state of the socket behind rc every
// tcpInfoEvery until the server's FIN (CLOSE-WAIT: "fin") or reset (CLOSE:
// "rst") arrived, or ctx ends ("open").
func watchState(ctx context.Context, deadline time.Time, rc syscall.RawConn) (string, error) {
	steps := int(time.Until(deadline)/tcpInfoEvery) + 2
	for range steps {
		state, err := tcpState(rc)
		if err != nil {
			return "", err
		}
		switch state {
		case tcpCloseWait:
			return EndedFIN, nil
		case tcpClose:
			return EndedRST, nil
		}
		t := time.NewTimer(tcpInfoEvery)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil {
			break
		}
	}
	return EndedOpen, nil
}

// tcpState returns the TCP state of the socket behind rc (TCP_INFO).
func tcpState(rc syscall.RawConn) (uint8, error) {
	var info *unix.TCPInfo
	var serr error
	if err := rc.Control(func(fd uintptr) {
		info, serr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil {
		return 0, fmt.Errorf("tcp info: %w", err)
	}
	if serr != nil {
		return 0, fmt.Errorf("tcp info: %w", serr)
	}
	return info.State, nil
}

// ResetMidBody sends a POST for path on c declaring Content-Length declared,
// writes send bytes of body, then resets the connection (SO_LINGER 0 and
// Close of the TCP connection under c, so a TLS connection sends no alert),
// so the server sees a RST in the middle of the body. Bytes still in the
// client's send buffer at that moment are discarded, not sent. On an
// HTTP/2 connection the POST is a HEADERS frame on stream 1 and the body
// DATA frames. c is always closed on return; the error reports a write
// that failed first.
func ResetMidBody(ctx context.Context, c net.Conn, path string, declared, send int64) error {
	tcp, ok := TCP(c)
	if declared < 0 || send < 0 || !ok {
		_ = c.Close()
		return fmt.Errorf("faultkit: reset mid body: declared %d, send %d, %T: need both >= 0 and a TCP connection", declared, send, c)
	}
	if ModeOf(c) == H2 {
		return h2ResetMidBody(ctx, c, tcp, path, declared, send)
	}
	s, done := newSession(ctx, c)
	defer done()
	head := "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
		strconv.FormatInt(declared, 10) + "\r\n\r\n"
	werr := s.write([]byte(head))
	piece := make([]byte, min(send, bodyPiece))
	for i := range piece {
		piece[i] = 'a'
	}
	for w := int64(0); werr == nil && w < send; {
		p := piece[:min(send-w, int64(len(piece)))]
		werr = s.write(p)
		w += int64(len(p))
	}
	if werr != nil {
		werr = fmt.Errorf("faultkit: reset mid body: write after %d bytes: %w", s.res.Sent, werr)
	}
	return errors.Join(werr, reset(tcp))
}

// reset closes c abortively (SO_LINGER 0): the peer gets a RST.
func reset(c *net.TCPConn) error {
	var err error
	if lerr := c.SetLinger(0); lerr != nil {
		err = fmt.Errorf("faultkit: reset mid body: linger: %w", lerr)
	}
	if cerr := c.Close(); cerr != nil {
		err = errors.Join(err, fmt.Errorf("faultkit: reset mid body: close: %w", cerr))
	}
	return err
}

// IdleHold sends one GET for path on c, reads the whole response, then holds
// the connection silently, as an idle keep-alive client would, until the
// server closes it or ctx ends. Held runs from the end of the response. c is
// not closed, and its deadlines are left set. On an HTTP/2 connection it is
// H2Idle without chatter.
func IdleHold(ctx context.Context, c net.Conn, path string) (res Result, err error) {
	if ModeOf(c) == H2 {
		return H2Idle(ctx, c, path, 0)
	}
	defer func() { err = prefix("idle hold", err) }()
	s, done := newSession(ctx, c)
	defer done()
	if err := s.write([]byte("GET " + path + " HTTP/1.1\r\nHost: x\r\n\r\n")); err != nil {
		return s.fail(err)
	}
	if !s.readUntil(s.deadline) {
		s.finish(EndedOpen)
		return s.res, nil
	}
	status, _, err := readResponse(s.br)
	s.res.Status = status
	if err != nil {
		if _, err := s.over(err); err != nil {
			return s.res, fmt.Errorf("response: %w", err)
		}
		return s.res, nil
	}
	s.held = time.Now()
	return s.drain()
}

// prefix names the scenario in a non-nil error.
func prefix(scenario string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("faultkit: %s: %w", scenario, err)
}
