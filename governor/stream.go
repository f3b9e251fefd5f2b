package governor

import (
	"context"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"
)

// Stream is one request of a multiplexed connection (an HTTP/2 stream), as
// the protocol layer reports it: its own bytes, progress, phase and rules.
// The connection itself has no body or response rules while multiplexed
// (see Conn.Multiplexed); the protocol layer bounds each stream with the
// deadlines its Stream computes — the same stall, minimum-rate and cap
// rules a single request has on its connection — and resets the stream,
// not the connection, when one expires.
//
// A Stream is used by one reader and one writer goroutine at a time; the
// Table reads it concurrently.
type Stream struct {
	c     *Conn
	id    uint64 // in the order opened on its Conn, from 1
	desc  fmt.Stringer
	start time.Time
	lim   Limits

	io           atomic.Uint32 // ioBody, ioWrite
	bytesIn      atomic.Int64
	bytesOut     atomic.Int64
	lastProgress atomic.Int64  // on the Table's monotonic clock
	reset        atomic.Uint32 // the Cause the stream was reset for; CauseNone
	// The rule deadlines of the read and the write under way (Expired,
	// and the deadline the Table shows), and the causes they are for; 0
	// none.
	readDL, writeDL       atomic.Int64
	readCause, writeCause atomic.Uint32

	// The reader's: guarded by being used by one reader at a time.
	body      bool // a body remains to be read
	bodyBytes int64
	// The writer's, likewise.
	respStart time.Time
	respBytes int64

	prev, next *Stream // in the Conn's list; guarded by Conn.mu
}

// stream is the sentinel of a Conn's list of streams.
type stream = Stream

// OpenStream registers a request multiplexed on c, bounded by l (zero
// fields take the Table's Options) and described by desc for the Table
// (method and path; its String is called only when the Table is read);
// hasBody says whether a request body is to be read. Close it when the
// request is done.
func (c *Conn) OpenStream(l Limits, desc fmt.Stringer, hasBody bool) *Stream {
	now := c.t.now()
	s := &Stream{c: c, desc: desc, start: now, lim: l.resolve(&c.t.opts), body: hasBody}
	s.lastProgress.Store(c.t.mono(now))
	c.requests.Add(1)
	c.mu.Lock()
	c.nextStream++
	s.id = c.nextStream
	s.prev, s.next = c.streams.prev, &c.streams
	c.streams.prev.next = s
	c.streams.prev = s
	c.nstreams++
	c.mu.Unlock()
	return s
}

// Close removes the stream from its connection's table row.
func (s *Stream) Close() {
	c := s.c
	c.mu.Lock()
	if s.prev != nil {
		s.prev.next, s.next.prev = s.next, s.prev
		s.prev, s.next = nil, nil
		c.nstreams--
	}
	c.mu.Unlock()
}

// ID returns the stream's number on its connection, from 1 in the order
// opened.
func (s *Stream) ID() uint64 { return s.id }

// Phase returns the stream's phase: body or write while a read of its body
// or a write of its response is under way, else handler.
func (s *Stream) Phase() Phase { return shownPhase(s.io.Load(), PhaseHandler) }

// Busy reports whether a read of the body or a write of the response is
// under way: the stream is waiting on its peer.
func (s *Stream) Busy() bool { return s.io.Load() != 0 }

// LastProgress returns when the stream's body or response last moved, on
// the Table's clock.
func (s *Stream) LastProgress() time.Time { return s.c.t.at(s.lastProgress.Load()) }

// BeginRead marks the stream as reading its request body, under the body
// rules' deadline from now (none once the body is done): Expired reports
// it overrun. Call EndRead after the read.
func (s *Stream) BeginRead() {
	if !s.body {
		return
	}
	dl, cause := transferRule(&s.lim, s.c.t.now(), s.start, s.bodyBytes, s.lim.bodyMinRate)
	s.readDL.Store(s.c.t.mono(dl))
	s.readCause.Store(uint32(cause))
	s.io.Or(ioBody)
}

// EndRead accounts for a read of n body bytes; eof says the body is done.
func (s *Stream) EndRead(n int, eof bool) {
	s.io.And(^ioBody)
	if n > 0 {
		s.bodyBytes += int64(n)
		s.bytesIn.Add(int64(n))
		s.progress(s.c.t.now())
	}
	if eof {
		s.body = false
	}
}

// BeginWrite marks the stream as writing its response, at most WriteChunk
// bytes, under the response rules' deadline from now, which it returns:
// Expired reports it overrun. Call EndWrite after the write.
func (s *Stream) BeginWrite() time.Time {
	now := s.c.t.now()
	if s.respStart.IsZero() {
		s.respStart = now
	}
	dl, cause := transferRule(&s.lim, now, s.respStart, s.respBytes, s.lim.MinRate)
	s.writeDL.Store(s.c.t.mono(dl))
	s.writeCause.Store(uint32(cause))
	s.io.Or(ioWrite)
	return dl
}

// EndWrite accounts for a write of n response bytes.
func (s *Stream) EndWrite(n int) {
	s.io.And(^ioWrite)
	if n > 0 {
		s.respBytes += int64(n)
		s.bytesOut.Add(int64(n))
		s.progress(s.c.t.now())
	}
}

// Expired reports whether the read or the write under way on the stream
// has overrun its rule's deadline at now (a time on the Table's clock), and
// for which cause and phase: the protocol layer then resets the stream.
// A stream with nothing under way never expires: between reads and writes
// the peer owes nothing.
func (s *Stream) Expired(now time.Time) (Cause, Phase, bool) {
	ns := s.c.t.mono(now)
	io := s.io.Load()
	if d := s.writeDL.Load(); io&ioWrite != 0 && d != 0 && ns >= d {
		return Cause(s.writeCause.Load()), PhaseWrite, true
	}
	if d := s.readDL.Load(); io&ioBody != 0 && d != 0 && ns >= d {
		return Cause(s.readCause.Load()), PhaseBody, true
	}
	return CauseNone, PhaseHandler, false
}

// WriteChunk is the largest write the protocol layer should make under one
// deadline from BeginWrite, so that the deadline measures a stall and not
// a whole response.
func (s *Stream) WriteChunk() int { return s.c.chunk }

func (s *Stream) progress(now time.Time) {
	ns := s.c.t.mono(now)
	if ns > s.lastProgress.Load() {
		s.lastProgress.Store(ns)
	}
	s.c.progress(now)
}

// Reset records that the protocol layer reset the stream for cause (a rule
// BeginRead or BeginWrite gave expired, or its handler overstayed): it is
// counted in the Table's Stats and logged, like a connection's close.
func (s *Stream) Reset(cause Cause, phase Phase) {
	if !s.reset.CompareAndSwap(uint32(CauseNone), uint32(cause)) {
		return
	}
	t := s.c.t
	t.resets[cause].Add(1)
	if !t.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	now := t.now()
	req := ""
	if s.desc != nil {
		req = s.desc.String()
	}
	t.log.LogAttrs(context.Background(), slog.LevelInfo, "governor: stream reset",
		slog.Uint64("conn_id", s.c.id), slog.Uint64("stream", s.id),
		slog.String("remote", s.c.nc.RemoteAddr().String()),
		slog.String("request", req),
		slog.String("phase", phase.String()), slog.String("cause", cause.String()),
		slog.Int64("bytes_in", s.bytesIn.Load()), slog.Int64("bytes_out", s.bytesOut.Load()),
		slog.Duration("age", now.Sub(s.start)),
		slog.Duration("since_progress", now.Sub(s.LastProgress())))
}

// StreamInfo is one stream of a ConnInfo: a snapshot, not updated.
type StreamInfo struct {
	ID            uint64        // the stream's number on its connection (Stream.ID)
	Request       string        // as OpenStream's desc describes it
	Route         string        // desc's Route(), if it has that method
	Phase         Phase         // body, write or handler (Stream.Phase)
	BytesIn       int64         // request body bytes read
	BytesOut      int64         // response bytes written
	Age           time.Duration // since OpenStream
	SinceProgress time.Duration // since its body or response last moved
	DeadlineIn    time.Duration // until the rule of the read or write under way expires; meaningful if Rule is not CauseNone
	Rule          Cause         // the cause that rule resets the stream for; CauseNone if none is armed
}

// streamsLocked returns the rows of c's open streams.
func (c *Conn) streamsLocked(now time.Time) []StreamInfo {
	if c.nstreams == 0 {
		return nil
	}
	out := make([]StreamInfo, 0, c.nstreams)
	for s := c.streams.next; s != &c.streams; s = s.next {
		si := StreamInfo{
			ID:            s.id,
			Phase:         s.Phase(),
			BytesIn:       s.bytesIn.Load(),
			BytesOut:      s.bytesOut.Load(),
			Age:           now.Sub(s.start),
			SinceProgress: now.Sub(s.LastProgress()),
		}
		// The deadline shown is that of the read or write under way.
		io := s.io.Load()
		switch d := s.writeDL.Load(); {
		case io&ioWrite != 0 && d != 0:
			si.DeadlineIn, si.Rule = c.t.at(d).Sub(now), Cause(s.writeCause.Load())
		case io&ioBody != 0 && s.readDL.Load() != 0:
			si.DeadlineIn, si.Rule = c.t.at(s.readDL.Load()).Sub(now), Cause(s.readCause.Load())
		}
		if s.desc != nil {
			si.Request = s.desc.String()
			if r, ok := s.desc.(interface{ Route() string }); ok {
				si.Route = r.Route()
			}
		}
		out = append(out, si)
	}
	return out
}
