package faultkit

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// H2Options is what an H2Client advertises and how it behaves. The zero
// value is a polite client with the protocol's default windows.
type H2Options struct {
	// Window is the client's SETTINGS_INITIAL_WINDOW_SIZE in bytes: how much
	// DATA the server may send on each stream before the client grants
	// more. Zero leaves the protocol's default (65,535) unsent; ZeroWindow
	// advertises 0, so no stream may carry DATA. The client never grants
	// more on its own: a reader that wants a whole file asks for a big
	// Window (MaxWindow) and ConnWindow.
	Window int64
	// ConnWindow, if positive, is added to the connection's window (65,535
	// at first) by one WINDOW_UPDATE right after the preface.
	ConnWindow uint32
	// Quiet stops the client from answering the server's SETTINGS and
	// PING frames, for scenarios that must never write between two bytes
	// of one frame (a trickled header) or that play dead.
	Quiet bool
	// StopAfter, if positive, makes the client stop reading the socket once
	// it has read the first response's header and at least StopAfter
	// bytes of DATA, so its TCP window fills and closes (StopReading).
	StopAfter int64
	// Deaf delays the read loop until StartReading: the server's frames
	// pile up in the sockets (and its queues) meanwhile, as they do for a
	// flooding peer that never reads.
	Deaf bool
	// Settings are sent in the client's first SETTINGS frame after its own
	// (SETTINGS_HEADER_TABLE_SIZE 0 and SETTINGS_ENABLE_PUSH 0, which the
	// response decoder relies on, and the Window).
	Settings []Setting
}

// ZeroWindow is the H2Options.Window of a client that takes no DATA.
const ZeroWindow = -1

// Stream is what the client saw of one stream.
type Stream struct {
	// Header is set once a response header block arrived; Status is its
	// :status, 0 if it could not be decoded.
	Header bool
	Status int
	// Data is the DATA payload bytes received (padding included).
	Data int64
	// Ended is set when the server ended the stream (END_STREAM).
	Ended bool
	// Reset is set when the server reset the stream (RST_STREAM); Code is
	// its error code.
	Reset bool
	Code  uint32
}

// H2Client is a raw HTTP/2 client on one connection, for fault scenarios:
// it writes frames exactly as told and reads the server's frames on a
// goroutine of its own, answering SETTINGS and PING (unless Quiet) and
// recording streams, resets and GOAWAY. It never enforces the protocol on
// itself. Its methods are safe for concurrent use; Close must be called.
type H2Client struct {
	c        net.Conn
	ctx      context.Context
	deadline time.Time // ctx's deadline: every write's
	opt      H2Options
	cancel   context.CancelFunc
	stop     func() bool
	readDone chan struct{} // closed when the read loop ends
	gate     chan struct{} // closed when the read loop may read
	gateOnce sync.Once

	wmu    sync.Mutex // serialises writes; never held while waiting
	nextID uint32     // next client stream id; guarded by wmu

	pmu     sync.Mutex // guards pending
	pending []byte     // acks the read loop could not write at once

	mu       sync.Mutex // guards the fields below
	changed  chan struct{}
	sent     int64
	received int64
	streams  map[uint32]*Stream
	resets   int
	goAway   bool
	goCode   uint32
	goLast   uint32
	pingAcks int
	lastAck  uint64 // the payload of the latest PING ack
	pings    int    // server PINGs received
	settings int    // server SETTINGS received (not acks)
	readErr  error
	writeErr error // the first failed write
	stopped  bool  // StopAfter reached: the loop no longer reads
	started  time.Time
}

// NewH2Client starts an HTTP/2 client on c (normally a *tls.Conn that
// picked "h2"; any connection works for a server that speaks h2c with
// prior knowledge): it writes the preface, the client's SETTINGS and the
// ConnWindow update, and starts reading. Every write and read is bounded
// by ctx (DefaultTimeout without a deadline); when ctx ends, blocked I/O
// is interrupted. Close stops the client; c is not closed.
func NewH2Client(ctx context.Context, c net.Conn, opt H2Options) (*H2Client, error) {
	ctx, cancel := bound(ctx)
	dl, _ := ctx.Deadline()
	h := &H2Client{c: c, ctx: ctx, deadline: dl, opt: opt, cancel: cancel, nextID: 1,
		readDone: make(chan struct{}), changed: make(chan struct{}), streams: map[uint32]*Stream{}, started: time.Now()}
	h.stop = context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	settings := []Setting{{SettingHeaderTableSize, 0}, {SettingEnablePush, 0}}
	switch {
	case opt.Window == ZeroWindow:
		settings = append(settings, Setting{SettingInitialWindowSize, 0})
	case opt.Window > 0:
		settings = append(settings, Setting{SettingInitialWindowSize, uint32(min(opt.Window, MaxWindow))})
	}
	settings = append(settings, opt.Settings...)
	b := append([]byte(ClientPreface), AppendFrame(nil, FrameSettings, 0, 0, settingsPayload(settings))...)
	if opt.ConnWindow > 0 {
		b = AppendFrame(b, FrameWindowUpdate, 0, 0, u32(min(opt.ConnWindow, MaxWindow)))
	}
	if err := h.Write(b); err != nil {
		h.stop()
		cancel()
		return nil, fmt.Errorf("faultkit: h2: preface: %w", err)
	}
	h.gate = make(chan struct{})
	if !opt.Deaf {
		close(h.gate)
	}
	go h.readLoop()
	return h, nil
}

// StartReading starts the read loop of a Deaf client; it is idempotent.
func (h *H2Client) StartReading() {
	h.gateOnce.Do(func() {
		if h.opt.Deaf {
			close(h.gate)
		}
	})
}

// Close stops the read loop and waits for it; it does not close the
// connection. It is idempotent.
func (h *H2Client) Close() {
	h.cancel()
	<-h.readDone
	h.stop()
}

// Write writes raw bytes (whole frames, or a part of one) within the
// client's deadline.
func (h *H2Client) Write(p []byte) error {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	return h.writeLocked(p)
}

// writeLocked writes p, after the acks the read loop left pending (whole
// frames, so they go before p: p may be the start of a frame, never its
// middle, except for Quiet clients, which leave no acks). h.wmu must be
// held.
func (h *H2Client) writeLocked(p []byte) error {
	h.pmu.Lock()
	if len(h.pending) > 0 {
		p = append(h.pending, p...)
		h.pending = nil
	}
	h.pmu.Unlock()
	if err := h.c.SetWriteDeadline(h.deadline); err != nil {
		return err
	}
	if h.ctx.Err() != nil {
		return os.ErrDeadlineExceeded
	}
	n, err := h.c.Write(p)
	h.mu.Lock()
	h.sent += int64(n)
	if err != nil && h.writeErr == nil {
		h.writeErr = err
	}
	h.mu.Unlock()
	return err
}

// Frame writes one frame.
func (h *H2Client) Frame(typ, flags byte, stream uint32, payload []byte) error {
	return h.Write(AppendFrame(nil, typ, flags, stream, payload))
}

// NewStream returns the next client stream id (1, 3, 5, ...) and counts
// it as opened.
func (h *H2Client) NewStream() uint32 {
	h.wmu.Lock()
	id := h.nextID
	h.nextID += 2
	h.wmu.Unlock()
	h.mu.Lock()
	if h.streams[id] == nil {
		h.streams[id] = &Stream{}
	}
	h.mu.Unlock()
	return id
}

// Request opens a stream with one HEADERS frame (END_HEADERS; END_STREAM
// unless body) for method and path, and returns its id. The block must fit
// one frame (16 KiB).
func (h *H2Client) Request(method, path string, body bool, fields ...HeaderField) (uint32, error) {
	id := h.NewStream()
	flags := byte(FlagEndHeaders)
	if !body {
		flags |= FlagEndStream
	}
	block := HeaderBlock(method, path, "vigil-faultkit", fields...)
	if len(block) > defaultMaxFrame {
		return id, fmt.Errorf("faultkit: h2: a header block of %d bytes needs CONTINUATION frames", len(block))
	}
	return id, h.Frame(FrameHeaders, flags, id, block)
}

// Ping sends a PING with payload n.
func (h *H2Client) Ping(n uint64) error {
	return h.Frame(FramePing, 0, 0, binary.BigEndian.AppendUint64(nil, n))
}

// readLoop reads the server's frames until the connection fails, the
// context ends or StopAfter is reached.
func (h *H2Client) readLoop() {
	defer close(h.readDone)
	var err error
	select {
	case <-h.gate:
		err = h.readFrames(bufio.NewReaderSize(countReader{h}, 32<<10))
	case <-h.ctx.Done():
		err = os.ErrDeadlineExceeded
	}
	h.mu.Lock()
	h.readErr = err
	h.mu.Unlock()
	h.notify()
}

// countReader counts what the client reads.
type countReader struct{ h *H2Client }

func (r countReader) Read(p []byte) (int, error) {
	n, err := r.h.c.Read(p)
	r.h.mu.Lock()
	r.h.received += int64(n)
	r.h.mu.Unlock()
	return n, err
}

// errStopped ends the read loop at StopAfter.
var errStopped = errors.New("stopped reading")

// readFrames is the read loop's body.
func (h *H2Client) readFrames(br *bufio.Reader) error {
	if err := h.c.SetReadDeadline(h.deadline); err != nil {
		return err
	}
	var hdr [frameHeaderLen]byte
	var block []byte   // a response header block being collected
	var blockID uint32 // its stream
	var blockEnd bool  // its HEADERS frame had END_STREAM
	payload := make([]byte, defaultMaxFrame)
	for range 1 << 30 {
		if h.ctx.Err() != nil {
			return os.ErrDeadlineExceeded
		}
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			return err
		}
		fh := parseFrameHeader(hdr[:])
		if fh.length > maxReadFrame {
			return fmt.Errorf("h2: frame of %d bytes", fh.length)
		}
		if fh.length > len(payload) {
			payload = make([]byte, fh.length)
		}
		p := payload[:fh.length]
		if _, err := io.ReadFull(br, p); err != nil {
			return err
		}
		h.mu.Lock()
		switch fh.typ {
		case FrameData:
			st := h.streamLocked(fh.stream)
			st.Data += int64(fh.length)
			st.Ended = st.Ended || fh.flags&FlagEndStream != 0
		case FrameHeaders, FrameContinuation:
			if fh.typ == FrameHeaders {
				frag, err := unpad(fh, p, true)
				if err != nil {
					h.mu.Unlock()
					return err
				}
				block, blockID, blockEnd = append(block[:0], frag...), fh.stream, fh.flags&FlagEndStream != 0
			} else if len(block)+len(p) <= maxHeaderBlock {
				block = append(block, p...)
			}
			if fh.flags&FlagEndHeaders != 0 {
				st := h.streamLocked(blockID)
				st.Header = true
				if s := decodeStatus(block); s != 0 && (st.Status == 0 || st.Status < 200) {
					st.Status = s
				}
				st.Ended = st.Ended || blockEnd
			}
		case FrameRSTStream:
			st := h.streamLocked(fh.stream)
			st.Reset = true
			if len(p) >= 4 {
				st.Code = binary.BigEndian.Uint32(p)
			}
			h.resets++
		case FrameGoAway:
			h.goAway = true
			if len(p) >= 8 {
				h.goLast = binary.BigEndian.Uint32(p) & MaxWindow
				h.goCode = binary.BigEndian.Uint32(p[4:])
			}
		case FramePing:
			if fh.flags&FlagAck != 0 {
				h.pingAcks++
				if len(p) == 8 {
					h.lastAck = binary.BigEndian.Uint64(p)
				}
			} else {
				h.pings++
			}
		case FrameSettings:
			if fh.flags&FlagAck == 0 {
				h.settings++
			}
		}
		stop := h.opt.StopAfter > 0 && h.firstAnsweredLocked() >= h.opt.StopAfter
		if stop {
			h.stopped = true
		}
		h.mu.Unlock()
		switch {
		case h.opt.Quiet:
		case fh.typ == FramePing && fh.flags&FlagAck == 0 && len(p) == 8:
			h.ack(AppendFrame(nil, FramePing, FlagAck, 0, p))
		case fh.typ == FrameSettings && fh.flags&FlagAck == 0:
			h.ack(AppendFrame(nil, FrameSettings, FlagAck, 0, nil))
		}
		h.notify()
		if stop {
			return errStopped
		}
	}
	return fmt.Errorf("h2: frame limit reached")
}

// firstAnsweredLocked returns the DATA bytes of the lowest stream whose
// response header arrived, or -1. h.mu must be held.
func (h *H2Client) firstAnsweredLocked() int64 {
	best, data := uint32(0), int64(-1)
	for id, st := range h.streams {
		if st.Header && (best == 0 || id < best) {
			best, data = id, st.Data
		}
	}
	return data
}

// ack writes an acknowledgement from the read loop, or leaves it for the
// next write when a write is in progress (the loop must never wait on a
// writer that may be blocked by a server waiting for the loop to read).
// At most 64 KiB of acks wait; more are dropped, as a busy peer's may be.
func (h *H2Client) ack(frame []byte) {
	if !h.wmu.TryLock() {
		h.pmu.Lock()
		if len(h.pending) < 64<<10 {
			h.pending = append(h.pending, frame...)
		}
		h.pmu.Unlock()
		return
	}
	defer h.wmu.Unlock()
	_ = h.writeLocked(frame)
}

// streamLocked returns the stream id, creating its record. h.mu must be
// held.
func (h *H2Client) streamLocked(id uint32) *Stream {
	st := h.streams[id]
	if st == nil {
		st = &Stream{}
		h.streams[id] = st
	}
	return st
}

// notify wakes every waiter.
func (h *H2Client) notify() {
	h.mu.Lock()
	close(h.changed)
	h.changed = make(chan struct{})
	h.mu.Unlock()
}

// H2State is a snapshot of what the client saw.
type H2State struct {
	// Sent and Received are the bytes written and read on the connection.
	Sent, Received int64
	// Streams are the streams by id.
	Streams map[uint32]Stream
	// Resets counts RST_STREAM frames received.
	Resets int
	// GoAway is set once a GOAWAY arrived, with its code and last stream.
	GoAway bool
	GoCode uint32
	GoLast uint32
	// PingAcks counts the answers to the client's PINGs; LastAck is the
	// payload of the latest (answers come in order).
	PingAcks int
	LastAck  uint64
	// Pings and Settings count the server's PING and SETTINGS frames
	// (acks excluded).
	Pings, Settings int
	// Done is set when the read loop ended; Err is why (io.EOF for a
	// close, ECONNRESET for a reset, os.ErrDeadlineExceeded when the
	// context ended).
	Done bool
	Err  error
	// Stopped is set when the loop stopped reading at StopAfter.
	Stopped bool
}

// State returns a snapshot.
func (h *H2Client) State() H2State {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.stateLocked()
}

func (h *H2Client) stateLocked() H2State {
	s := H2State{Sent: h.sent, Received: h.received, Streams: make(map[uint32]Stream, len(h.streams)),
		Resets: h.resets, GoAway: h.goAway, GoCode: h.goCode, GoLast: h.goLast, PingAcks: h.pingAcks, LastAck: h.lastAck,
		Pings: h.pings, Settings: h.settings, Err: h.readErr, Stopped: h.stopped}
	select {
	case <-h.readDone:
		s.Done = true
	default:
	}
	for id, st := range h.streams {
		s.Streams[id] = *st
	}
	return s
}

// Wait waits until cond holds for the client's state, the read loop ends,
// until passes or the context ends, and returns the last state and
// whether cond held. A zero until means the context's deadline.
func (h *H2Client) Wait(until time.Time, cond func(H2State) bool) (H2State, bool) {
	if until.IsZero() || until.After(h.deadline) {
		until = h.deadline
	}
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	for range 1 << 30 {
		h.mu.Lock()
		s := h.stateLocked()
		ch := h.changed
		h.mu.Unlock()
		if cond(s) {
			return s, true
		}
		if s.Done && !s.Stopped {
			return s, false
		}
		select {
		case <-ch:
		case <-h.readDone:
			if s.Stopped {
				select {
				case <-t.C:
					return h.State(), false
				case <-h.ctx.Done():
					return h.State(), false
				case <-ch:
				}
			}
		case <-t.C:
			return h.State(), false
		case <-h.ctx.Done():
			return h.State(), false
		}
	}
	return h.State(), false
}

// Ended reports how the connection ended, as Result.Ended: "fin" for a
// close (EOF), "rst" for a reset, "open" while the loop still reads (or it
// stopped on its own).
func (s H2State) Ended() string {
	switch {
	case !s.Done || s.Stopped || errors.Is(s.Err, os.ErrDeadlineExceeded):
		return EndedOpen
	case errors.Is(s.Err, io.EOF), errors.Is(s.Err, io.ErrUnexpectedEOF):
		return EndedFIN
	case errors.Is(s.Err, syscall.ECONNRESET), errors.Is(s.Err, syscall.EPIPE):
		return EndedRST
	}
	return ""
}

// result fills a Result from the state: bytes, how the connection ended,
// the GOAWAY and resets seen, the streams opened and the status of stream
// id (0 for none).
func (s H2State) result(id uint32) Result {
	r := Result{Sent: s.Sent, Received: s.Received, Ended: s.Ended(), Resets: s.Resets,
		PingAcks: s.PingAcks, Streams: len(s.Streams)}
	if s.GoAway {
		r.GoAway = CodeName(s.GoCode)
	}
	if st, ok := s.Streams[id]; ok {
		r.Status = st.Status
	}
	for _, st := range s.Streams {
		if st.Reset && r.ResetCode == "" {
			r.ResetCode = CodeName(st.Code)
		}
	}
	return r
}

// unexpected returns the read loop's error when it is not one a peer can
// cause (a close, a reset, a timeout), else nil.
func (s H2State) unexpected() error {
	if s.Done && !s.Stopped && s.Ended() == "" {
		return fmt.Errorf("after %d bytes sent, %d received: %w", s.Sent, s.Received, s.Err)
	}
	return nil
}
