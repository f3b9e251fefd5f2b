package faultkit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// The cable pulls of Target.Run: one connection of this process to a
// target, brought into a state, cut on this host (CutHere) and watched.

const (
	// cutPollEvery is how often a cable pull reads its counters and, for a
	// target on this host, the target's socket.
	cutPollEvery = 100 * time.Millisecond
	// cutReadFirst is how much of the --large response cable-pull-download
	// reads before the cut.
	cutReadFirst = 64 << 10
	// cutPrepare bounds the request (and response) before a cut.
	cutPrepare = 10 * time.Second
)

// cablePull runs one cable-pull scenario: it brings a fresh connection into
// the scenario's state (reading a large response, half-way through a
// header, idle after a response), drops every packet of its 4-tuple on this
// host in both directions, and watches what the target does with a peer
// that vanished: for a target on this host, until its socket is gone from
// the kernel (`ss`, orphans included); for a remote target, until it sends
// a RST or FIN into the cut. The cut is removed whatever happens.
func (tg Target) cablePull(ctx context.Context, name string, o RunOptions) (out Outcome, err error) {
	c, err := tg.Dial(ctx, DialOptions{})
	if err != nil {
		return out, err
	}
	defer c.Close()
	var what string
	var h *H2Client // h2: it keeps the connection's state until the watch ends
	if tg.Mode == H2 {
		what, h, err = prepareCutH2(ctx, c, tg, o.Large, name)
		if h != nil {
			defer h.Close() // idempotent
		}
	} else {
		what, err = prepareCut(ctx, c, tg, o.Large, name)
	}
	if err != nil {
		return out, err
	}
	var release func()
	if h != nil {
		release = func() { h.Close() } // the late check reads the connection itself
	}
	return tg.cutAndWatch(ctx, c, what, release)
}

// cutAndWatch pulls the cable of c, a connection in the state what says,
// and watches what the target does (watchCut; for a remote target still
// holding it at the cap, a late check); release, if set, is called when the
// watch ends. The cut is removed whatever happens, and c is reset.
func (tg Target) cutAndWatch(ctx context.Context, c net.Conn, what string, release func()) (out Outcome, err error) {
	tcp, _ := TCP(c)
	cut, err := CutHere(ctx, c)
	if err != nil {
		return out, err
	}
	defer func() {
		// Runs even after Ctrl-C: Restore ignores cancellation.
		err = errors.Join(err, cut.Restore(ctx))
	}()
	w := watchCut(ctx, cut, IsLocal(cut.Remote.Addr()))
	if release != nil {
		release()
	}
	// At the cap (not on Ctrl-C), ask a remote target whether it still
	// holds the connection.
	if !w.local && w.ended == EndedOpen && w.err == nil && !errors.Is(ctx.Err(), context.Canceled) {
		w.lateCheck(ctx, c, tg.Mode, cut)
	}
	// With the cut still in place our reset goes nowhere; after a late
	// check it ends the target's socket, the test being over.
	tcp.SetLinger(0)
	tcp.Close()
	out.Held, out.Ended = w.held, w.ended
	out.Detail = what + "; " + w.describe()
	return out, w.err
}

// prepareCut brings c (HTTP/1.1, in clear or over TLS) into the
// scenario's state and says what it did.
func prepareCut(ctx context.Context, c net.Conn, tg Target, large, scenario string) (string, error) {
	dl := time.Now().Add(cutPrepare)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.SetDeadline(dl)
	defer c.SetDeadline(time.Time{})
	switch scenario {
	case "cable-pull-download":
		if _, err := io.WriteString(c, "GET "+large+" HTTP/1.1\r\nHost: "+tg.Host+"\r\n\r\n"); err != nil {
			return "", fmt.Errorf("request: %w", err)
		}
		n, err := io.CopyN(io.Discard, c, cutReadFirst)
		if err != nil {
			return "", fmt.Errorf("GET %s: read %d B of the response, then %w (cable-pull-download needs --large of more than %d KiB)", large, n, err, cutReadFirst>>10)
		}
		return fmt.Sprintf("GET %s, read %d KiB, cut", large, n>>10), nil
	case "cable-pull-header":
		head := "GET " + tg.Path + " HTTP/1.1\r\nHost: " + tg.Host + "\r\nUser-Agent: vigil-hangcheck\r\n"
		if _, err := io.WriteString(c, head); err != nil {
			return "", fmt.Errorf("request: %w", err)
		}
		return fmt.Sprintf("sent %d B of a header, cut", len(head)), nil
	default: // cable-pull-idle
		if _, err := io.WriteString(c, "HEAD "+tg.Path+" HTTP/1.1\r\nHost: "+tg.Host+"\r\n\r\n"); err != nil {
			return "", fmt.Errorf("request: %w", err)
		}
		br := bufio.NewReaderSize(c, 4096)
		status, err := readStatus(br)
		for i := 0; err == nil && i < 200; i++ {
			var line []byte
			line, err = br.ReadSlice('\n')
			if err == nil && len(strings.TrimSpace(string(line))) == 0 {
				break
			}
		}
		if err != nil {
			return "", fmt.Errorf("HEAD %s: %w", tg.Path, err)
		}
		return fmt.Sprintf("HEAD %s answered %d, idle, cut", tg.Path, status), nil
	}
}

// prepareCutH2 is prepareCut on an HTTP/2 connection: the client it
// returns (nil on error) keeps the connection's state until closed.
func prepareCutH2(ctx context.Context, c net.Conn, tg Target, large, scenario string) (string, *H2Client, error) {
	pctx, cancel := context.WithTimeout(ctx, cutPrepare)
	defer cancel()
	opt := H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535}
	if scenario == "cable-pull-header" {
		opt = H2Options{Quiet: true} // nothing may be written inside the half frame
	}
	// The client outlives the preparation: it is bounded by the scenario.
	h, err := NewH2Client(ctx, c, opt)
	if err != nil {
		return "", nil, err
	}
	until, _ := pctx.Deadline()
	switch scenario {
	case "cable-pull-download":
		id, err := h.Request("GET", large, false)
		if err != nil {
			return "", h, fmt.Errorf("request: %w", err)
		}
		s, _ := h.Wait(until, func(s H2State) bool {
			st := s.Streams[id]
			return st.Data >= cutReadFirst || st.Ended || st.Reset
		})
		if st := s.Streams[id]; st.Data < cutReadFirst {
			return "", h, fmt.Errorf("GET %s: read %d B of the response, then it ended (cable-pull-download needs --large of more than %d KiB)", large, st.Data, cutReadFirst>>10)
		}
		return fmt.Sprintf("GET %s, read %d KiB, cut", large, s.Streams[id].Data>>10), h, nil
	case "cable-pull-header":
		frame := AppendFrame(nil, FrameHeaders, FlagEndHeaders|FlagEndStream, h.NewStream(),
			HeaderBlock("GET", tg.Path, tg.Host, HeaderField{Name: "user-agent", Value: "vigil-hangcheck"}))
		if err := h.Write(frame[:len(frame)/2]); err != nil {
			return "", h, fmt.Errorf("request: %w", err)
		}
		return fmt.Sprintf("sent %d B of a %d B HEADERS frame, cut", len(frame)/2, len(frame)), h, nil
	default: // cable-pull-idle
		id, err := h.Request("GET", tg.Path, false)
		if err != nil {
			return "", h, fmt.Errorf("request: %w", err)
		}
		s, ok := h.Wait(until, func(s H2State) bool { st := s.Streams[id]; return st.Ended || st.Reset })
		if !ok {
			return "", h, fmt.Errorf("GET %s: no whole answer: %+v", tg.Path, s.Streams[id])
		}
		return fmt.Sprintf("GET %s answered %d, idle, cut", tg.Path, s.Streams[id].Status), h, nil
	}
}

// cutWatch is what watchCut saw.
type cutWatch struct {
	local  bool          // the target is on this host: its socket is visible
	seen   Seen          // the target's packets into the cut
	rstAt  time.Duration // first RST, 0 if none
	finAt  time.Duration // first FIN, 0 if none
	last   time.Duration // the target's last packet, 0 if none
	gone   time.Duration // the target's socket vanished (local only)
	silent bool          // a remote target dropped it without a packet
	state  string        // the target socket's last state (local only)
	held   time.Duration // what the row reports
	ended  string        // what the row reports
	err    error         // a failure of the watch itself
	start  time.Time     // the cut
}

// watchCut polls the cut until the target let the connection go or ctx
// ends.
func watchCut(ctx context.Context, cut *HostCut, local bool) *cutWatch {
	w := &cutWatch{local: local, start: time.Now(), ended: EndedOpen}
	t := time.NewTicker(cutPollEvery)
	defer t.Stop()
	for range 1 << 20 {
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		if ctx.Err() != nil {
			break
		}
		now := time.Since(w.start)
		seen, err := cut.Seen(ctx)
		if err != nil {
			if ctx.Err() == nil {
				w.err = err
			}
			break
		}
		if seen.Total() != w.seen.Total() {
			w.last = now
		}
		if seen.RST > 0 && w.rstAt == 0 {
			w.rstAt = now
		}
		if seen.FIN > 0 && w.finAt == 0 {
			w.finAt = now
		}
		w.seen = seen
		if !local {
			if seen.RST > 0 || seen.FIN > 0 {
				w.held = min(nonZero(w.rstAt), nonZero(w.finAt))
				w.ended = w.endedBy()
				return w
			}
			continue
		}
		present, state, err := targetSocket(ctx, cut.Remote, cut.Local) // the target's end
		if err != nil {
			if ctx.Err() == nil {
				w.err = err
			}
			break
		}
		if !present {
			w.gone, w.held = now, now
			w.ended = w.endedBy()
			return w
		}
		w.state = state
	}
	w.held = time.Since(w.start)
	return w
}

// nonZero returns d, or a very long duration for 0 (for min).
func nonZero(d time.Duration) time.Duration {
	if d == 0 {
		return 1<<63 - 1
	}
	return d
}

// endedBy is the ending once the target let go: "rst" for a reset or for a
// connection its kernel dropped without sending anything (an abort all the
// same), "fin" for a graceful close.
func (w *cutWatch) endedBy() string {
	if w.finAt != 0 && (w.rstAt == 0 || w.finAt < w.rstAt) {
		return EndedFIN
	}
	return EndedRST
}

// lateCheck runs at the cap for a remote target that sent neither RST nor
// FIN: with the cable back, an empty line on the old connection (which HTTP
// servers ignore between requests) is answered by a reset if the target
// dropped the connection silently, and by anything else if it still holds
// it.
func (w *cutWatch) lateCheck(ctx context.Context, c net.Conn, m Mode, cut *HostCut) {
	if err := cut.Restore(ctx); err != nil {
		w.err = err
		return
	}
	c.SetDeadline(time.Now().Add(lateReply))
	nudge := []byte("\r\n")
	if m == H2 { // a PING: HTTP/2 has no empty line
		nudge = AppendFrame(nil, FramePing, 0, 0, []byte("latecheck"[:8]))
	}
	_, err := c.Write(nudge)
	if err == nil {
		_, err = io.Copy(io.Discard, io.LimitReader(c, 1<<30))
	}
	if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		w.ended, w.held, w.silent = EndedRST, w.last, true
	}
}

// describe says what the target did, in words.
func (w *cutWatch) describe() string {
	var parts []string
	parts = append(parts, fmt.Sprintf("target sent %d packets into the cut (%d RST, %d FIN)", w.seen.Total(), w.seen.RST, w.seen.FIN))
	if w.rstAt > 0 {
		parts = append(parts, fmt.Sprintf("RST at %.1fs", w.rstAt.Seconds()))
	}
	if w.finAt > 0 {
		parts = append(parts, fmt.Sprintf("FIN at %.1fs", w.finAt.Seconds()))
	}
	switch {
	case w.local && w.gone > 0:
		parts = append(parts, fmt.Sprintf("its socket gone at %.1fs", w.gone.Seconds()))
		if w.rstAt == 0 && w.finAt == 0 {
			parts = append(parts, "dropped by its kernel without a packet")
		}
	case w.local:
		parts = append(parts, "its socket still there ("+w.state+")")
	case w.silent:
		parts = append(parts, fmt.Sprintf("reset when the cable came back at the cap: dropped without a packet, after its last one at %.1fs", w.last.Seconds()))
	case w.ended == EndedOpen && w.last > 0:
		parts = append(parts, fmt.Sprintf("its last retransmission at %.1fs", w.last.Seconds()))
	}
	return strings.Join(parts, ", ")
}

// targetSocket reports whether the kernel still has the target's socket
// local→remote in a state other than TIME-WAIT, and that state.
func targetSocket(ctx context.Context, local, remote netip.AddrPort) (bool, string, error) {
	socks, err := Sockets(ctx, nil, local.Port())
	if err != nil {
		return false, "", err
	}
	for _, s := range socks {
		if s.State != "TIME-WAIT" && s.Local == local && s.Remote == remote {
			return true, s.State, nil
		}
	}
	return false, "", nil
}

// waitTargetGone polls the kernel every cutPollEvery until the target's
// socket local→remote is gone (TIME-WAIT counts as gone) and returns the
// time since start, or 0 if ctx ended first or ss failed.
func waitTargetGone(ctx context.Context, local, remote netip.AddrPort, start time.Time) time.Duration {
	t := time.NewTicker(cutPollEvery)
	defer t.Stop()
	for range 1 << 20 {
		select {
		case <-ctx.Done():
			return 0
		case <-t.C:
		}
		present, _, err := targetSocket(ctx, local, remote)
		if err != nil {
			return 0
		}
		if !present {
			return time.Since(start)
		}
	}
	return 0
}
