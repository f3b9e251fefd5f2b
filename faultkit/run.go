package faultkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strings"
	"syscall"
	"time"
)

// The target-level scenarios, by the names Target.Run knows them by (and
// `vigil hangcheck --scenarios` takes).
var (
	// Scenarios lists every scenario, in the order hangcheck runs them.
	Scenarios = slices.Concat([]string{"slowloris", "slow-body", "zero-window", "reset-mid-response", "idle-hold"},
		CablePullScenarios, []string{"flood", "replay"}, H2Scenarios, WSScenarios)
	// CablePullScenarios pull the cable of one connection on this host
	// (HostCut); they need root and nft.
	CablePullScenarios = []string{"cable-pull-download", "cable-pull-header", "cable-pull-idle"}
	// H2Scenarios are the scenarios only HTTP/2 has; they run in mode H2.
	H2Scenarios = []string{"h2-idle-chatter", "h2-zero-window", "h2-rapid-reset", "h2-continuation-flood",
		"h2-settings-flood", "h2-ping-flood", "h2-huge-headers"}
	// WSScenarios run on a WebSocket endpoint (RunOptions.WS), over
	// HTTP/1.1 in clear and TLS.
	WSScenarios = []string{"websocket-silent", "websocket-idle-pull"}
)

// Sizes and pace of the target-level scenarios.
const (
	h2Streams      = 20       // streams of h2-zero-window
	h2Resets       = 10000    // streams of h2-rapid-reset
	h2FloodFrames  = 100000   // frames of the SETTINGS and PING floods
	h2Continuation = 64 << 20 // bytes of the CONTINUATION flood at most
	h2HugeHeaders  = 1 << 20  // bytes of the huge header block
	h2Chatter      = time.Second
	h2PingEvery    = 500 * time.Millisecond

	// resetAfter is how much of the response reset-mid-response reads.
	resetAfter = 16 << 10
	// floodDial bounds each dial of the flood.
	floodDial = 2 * time.Second
	// wsFirstPing bounds the wait of websocket-idle-pull for the server's
	// first ping (vigil's default interval is 20 s).
	wsFirstPing = 60 * time.Second
	// silentGrace is how long a scenario may take to see the target's FIN
	// or RST after the target's socket left the kernel's table.
	silentGrace = 500 * time.Millisecond
	// lateReply bounds the wait for the target's answer when a scenario
	// still open at the cap asks whether the target dropped it silently.
	lateReply = 2 * time.Second
)

// RunsIn reports whether scenario runs in mode m: the h2-only scenarios in
// H2 only; the flood (connections that send nothing never reach ALPN), the
// HTTP/1.1 replay set and the WebSocket scenarios (no WebSocket over
// HTTP/2 here) in HTTP1 and HTTPS1 only.
func RunsIn(scenario string, m Mode) bool {
	switch {
	case slices.Contains(H2Scenarios, scenario):
		return m == H2
	case scenario == "flood", scenario == "replay", slices.Contains(WSScenarios, scenario):
		return m != H2
	}
	return true
}

// PullsCable reports whether scenario pulls a cable on this host (and so
// needs root and nft): the cable pulls and websocket-idle-pull.
func PullsCable(scenario string) bool {
	return slices.Contains(CablePullScenarios, scenario) || scenario == "websocket-idle-pull"
}

// RunOptions are the knobs of Target.Run.
type RunOptions struct {
	// Trickle is the gap between body bytes in slow-body; it must be
	// positive.
	Trickle time.Duration
	// Conns is the connections flood opens.
	Conns int
	// Large is the path of a large resource for zero-window,
	// reset-mid-response and cable-pull-download.
	Large string
	// WS is the path of a WebSocket endpoint, for the WebSocket scenarios.
	WS string
}

// Outcome is what a target-level scenario saw, in the terms of a row of
// `vigil hangcheck`.
type Outcome struct {
	// Held is how long the target held the scenario's connection (the
	// slowest case of the replay set, the whole flood).
	Held time.Duration
	// Ended is how it ended: EndedFIN, EndedRST or EndedOpen. A connection
	// the target's kernel dropped without a packet counts as EndedRST.
	Ended string
	// Detail says what happened, in words.
	Detail string
	// Problem names a problem the scenario found by itself (replay
	// verdicts not met, zero-window streams never reset); empty if none.
	Problem string
	// Cases are the replay set's cases with their verdicts (replay only).
	Cases []ReplayCase
	// Probed is set by flood, which probes once with every connection
	// open; ProbeOK and ProbeLatency are that probe's.
	Probed       bool
	ProbeOK      bool
	ProbeLatency time.Duration
}

// Run runs the scenario named name (one of Scenarios) against tg on fresh
// connections, bounded by ctx, and says what it saw. The error reports a
// failure of the scenario itself (a dial, a handshake, a cut that could
// not be made), with the Outcome of what happened before it.
func (tg Target) Run(ctx context.Context, name string, o RunOptions) (Outcome, error) {
	switch name {
	case "slowloris", "slow-body", "zero-window", "idle-hold":
		return tg.connScenario(ctx, name, o)
	case "reset-mid-response":
		return tg.resetMidResponse(ctx, o.Large)
	case "cable-pull-download", "cable-pull-header", "cable-pull-idle":
		return tg.cablePull(ctx, name, o)
	case "flood":
		return tg.flood(ctx, o.Conns)
	case "replay":
		return tg.replayAll(ctx)
	case "websocket-silent", "websocket-idle-pull":
		return tg.wsScenario(ctx, name, o.WS)
	}
	if slices.Contains(H2Scenarios, name) {
		return tg.h2Scenario(ctx, name, o)
	}
	return Outcome{}, fmt.Errorf("faultkit: unknown scenario %q", name)
}

// connScenario runs one connection scenario of this package on one fresh
// connection. The client sees how the connection ended, except when the
// target's kernel drops it without a packet (TCP_USER_TIMEOUT under a zero
// window does): for a target on this host the target's socket is watched
// too, and for a remote one a zero-window reader still open at the cap
// reads once to find out.
func (tg Target) connScenario(ctx context.Context, name string, o RunOptions) (Outcome, error) {
	var out Outcome
	var opt DialOptions
	if name == "zero-window" {
		opt.RecvBuf = 4096
	}
	c, err := tg.Dial(ctx, opt)
	if err != nil {
		return out, err
	}
	defer c.Close()
	start := time.Now()
	// The target's end of the connection, and ours.
	theirs, ours := unmap(c.RemoteAddr().(*net.TCPAddr).AddrPort()), unmap(c.LocalAddr().(*net.TCPAddr).AddrPort())
	local := IsLocal(theirs.Addr())
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var gone time.Duration // written by the watcher, read after watched is closed
	watched := make(chan struct{})
	if local {
		go func() {
			defer close(watched)
			if gone = waitTargetGone(sctx, theirs, ours, start); gone > 0 {
				// Let the client see a FIN or RST itself first.
				t := time.NewTimer(silentGrace)
				defer t.Stop()
				select {
				case <-t.C:
					cancel()
				case <-sctx.Done():
				}
			}
		}()
	} else {
		close(watched)
	}
	var res Result
	switch name {
	case "slowloris":
		res, err = Slowloris(sctx, c, time.Second)
	case "slow-body":
		res, err = SlowBody(sctx, c, tg.Path, 1<<20, 1, o.Trickle)
	case "zero-window":
		res, err = StopReading(sctx, c, o.Large, 0)
	case "idle-hold":
		res, err = IdleHold(sctx, c, tg.Path)
	}
	cancel()
	<-watched
	out.Held = res.Held
	out.Ended = res.Ended
	out.Detail = fmt.Sprintf("sent %d B, received %d B, status %d", res.Sent, res.Received, res.Status)
	if tg.Mode == H2 {
		out.Detail = h2Detail(res)
	}
	switch {
	case res.Ended == EndedOpen && gone > 0 && ctx.Err() == nil:
		out.Held, out.Ended = gone, EndedRST
		out.Detail += fmt.Sprintf("; the target's socket was gone at %.1fs without a packet to the client (its kernel dropped it)", gone.Seconds())
		err = nil
	case res.Ended == EndedOpen && local:
		qctx, qcancel := context.WithTimeout(context.WithoutCancel(ctx), ProbeTimeout)
		if present, state, serr := targetSocket(qctx, theirs, ours); serr == nil && present {
			out.Detail += "; the target's socket still there (" + state + ")"
		}
		qcancel()
	case res.Ended == EndedOpen && name == "zero-window" && !errors.Is(ctx.Err(), context.Canceled):
		// At the cap: open the window. A target that dropped the connection
		// silently answers with a reset.
		c.SetReadDeadline(time.Now().Add(lateReply))
		if _, rerr := io.Copy(io.Discard, io.LimitReader(c, 1<<30)); errors.Is(rerr, syscall.ECONNRESET) {
			out.Ended = EndedRST
			out.Detail += "; reset when the client read at the cap: the target had dropped it without a packet"
		}
	}
	return out, err
}

// resetMidResponse sends a GET for large, reads a little of the response
// and resets the connection. The connection ends by the client's RST.
func (tg Target) resetMidResponse(ctx context.Context, large string) (Outcome, error) {
	var out Outcome
	c, err := tg.Dial(ctx, DialOptions{})
	if err != nil {
		return out, err
	}
	tcp, _ := TCP(c)
	start := time.Now()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	var n int64
	if tg.Mode == H2 {
		n, err = h2Read(ctx, c, large, resetAfter)
	} else {
		_, err = io.WriteString(c, "GET "+large+" HTTP/1.1\r\nHost: "+tg.Host+"\r\n\r\n")
		if err == nil {
			n, err = io.CopyN(io.Discard, c, resetAfter)
		}
	}
	tcp.SetLinger(0)
	tcp.Close()
	out.Held = time.Since(start)
	out.Ended = EndedRST
	out.Detail = fmt.Sprintf("read %d B, then reset by us", n)
	if errors.Is(err, io.EOF) {
		out.Detail += " (response shorter than 16 KiB)"
		err = nil
	}
	return out, err
}

// h2Read sends a GET for path on the h2 connection c and reads until n
// bytes of its body are in; it returns the bytes read.
func h2Read(ctx context.Context, c net.Conn, path string, n int64) (int64, error) {
	h, err := NewH2Client(ctx, c, H2Options{Window: MaxWindow, ConnWindow: MaxWindow - 65535})
	if err != nil {
		return 0, err
	}
	defer h.Close()
	id, err := h.Request("GET", path, false)
	if err != nil {
		return 0, err
	}
	s, ok := h.Wait(time.Time{}, func(s H2State) bool { st := s.Streams[id]; return st.Data >= n || st.Ended || st.Reset })
	st := s.Streams[id]
	switch {
	case ok && st.Data < n:
		return st.Data, io.EOF // the response was shorter
	case !ok && s.Err != nil:
		return st.Data, s.Err
	}
	return st.Data, nil
}

// flood opens up to conns connections that send nothing, probes once with
// all of them open, then waits until the target has closed them all (or
// ctx ends).
func (tg Target) flood(ctx context.Context, conns int) (Outcome, error) {
	out := Outcome{Probed: true}
	start := time.Now()
	f := OpenFlood(ctx, tg.Addr, conns, floodDial)
	defer f.Close()
	pctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	status, lat, perr := tg.Probe(pctx)
	cancel()
	out.ProbeOK, out.ProbeLatency = perr == nil, lat
	out.Detail = fmt.Sprintf("opened %d of %d; probe with all open: status %d", f.Opened(), conns, status)
	if perr != nil {
		out.Detail = fmt.Sprintf("opened %d of %d; probe with all open failed: %v", f.Opened(), conns, perr)
	}
	if f.DialErr != nil {
		out.Detail += fmt.Sprintf("; dial stopped: %v", f.DialErr)
	}
	ends := f.Wait(ctx)
	out.Held = time.Since(start)
	out.Ended = EndedFIN
	switch {
	case ends.Open > 0:
		out.Ended = EndedOpen
	case ends.RST > 0:
		out.Ended = EndedRST
	}
	out.Detail += fmt.Sprintf("; ended fin %d, rst %d, open %d", ends.FIN, ends.RST, ends.Open)
	return out, nil
}

// h2Scenario runs one of the h2-only scenarios on a fresh connection.
func (tg Target) h2Scenario(ctx context.Context, name string, o RunOptions) (Outcome, error) {
	var out Outcome
	c, err := tg.Dial(ctx, DialOptions{})
	if err != nil {
		return out, err
	}
	defer c.Close()
	var res Result
	switch name {
	case "h2-idle-chatter":
		res, err = H2Idle(ctx, c, tg.Path, h2Chatter)
	case "h2-zero-window":
		res, err = H2ZeroWindow(ctx, c, o.Large, h2Streams, h2PingEvery)
	case "h2-rapid-reset":
		res, err = H2RapidReset(ctx, c, tg.Path, h2Resets)
	case "h2-continuation-flood":
		res, err = H2ContinuationFlood(ctx, c, tg.Path, h2Continuation)
	case "h2-settings-flood":
		res, err = H2SettingsFlood(ctx, c, h2FloodFrames)
	case "h2-ping-flood":
		res, err = H2PingFlood(ctx, c, h2FloodFrames)
	case "h2-huge-headers":
		res, err = H2HugeHeaders(ctx, c, tg.Path, h2HugeHeaders)
	}
	out.Held, out.Ended = res.Held, res.Ended
	out.Detail = h2Detail(res)
	if name == "h2-zero-window" && res.Resets < res.Streams && res.Ended == EndedOpen {
		out.Problem = fmt.Sprintf("%d of %d streams still open at a zero window", res.Streams-res.Resets, res.Streams)
	}
	return out, err
}

// h2Detail says what an HTTP/2 scenario saw.
func h2Detail(res Result) string {
	parts := []string{fmt.Sprintf("sent %d B, received %d B", res.Sent, res.Received)}
	if res.Streams > 0 {
		parts = append(parts, fmt.Sprintf("%d streams", res.Streams))
	}
	if res.Status != 0 {
		parts = append(parts, fmt.Sprintf("status %d", res.Status))
	}
	if res.Resets > 0 {
		parts = append(parts, fmt.Sprintf("%d RST_STREAM (%s)", res.Resets, res.ResetCode))
	}
	if res.GoAway != "" {
		parts = append(parts, "GOAWAY "+res.GoAway)
	}
	if res.PingAcks > 0 {
		parts = append(parts, fmt.Sprintf("%d PINGs answered", res.PingAcks))
	}
	return strings.Join(parts, ", ")
}

// wsScenario runs websocket-silent or websocket-idle-pull on a fresh
// connection to the WebSocket at path.
func (tg Target) wsScenario(ctx context.Context, name, path string) (Outcome, error) {
	var out Outcome
	c, err := tg.Dial(ctx, DialOptions{})
	if err != nil {
		return out, err
	}
	defer c.Close()
	if name == "websocket-idle-pull" {
		return tg.wsIdlePull(ctx, c, path)
	}
	res, err := WebSocketSilent(ctx, c, tg.Host, path)
	out.Held, out.Ended = res.Held, res.Ended
	out.Detail = fmt.Sprintf("upgraded %s (%d), answered none of %d pings", path, res.Status, res.Pings)
	switch {
	case res.CloseCode != 0:
		out.Detail += fmt.Sprintf(", close %d at %.1fs", res.CloseCode, res.CloseAt.Seconds())
	case res.Ended != EndedOpen && res.Ended != "":
		out.Detail += ", no close frame"
	}
	if res.Ended != "" && res.Ended != EndedOpen {
		out.Detail += ", then " + res.Ended
	}
	return out, err
}

// wsIdlePull upgrades, answers pings until the server's first one has been
// answered (the peer proved alive), then pulls the cable as cablePull does
// and watches the target let go of the socket.
func (tg Target) wsIdlePull(ctx context.Context, c net.Conn, path string) (out Outcome, err error) {
	hctx, cancel := context.WithTimeout(ctx, cutPrepare)
	ws, err := WSHandshake(hctx, c, tg.Host, path)
	cancel()
	if err != nil {
		return out, err
	}
	start := time.Now()
	dl := start.Add(wsFirstPing)
	if d, ok := ctx.Deadline(); ok && d.Before(dl) {
		dl = d
	}
	c.SetDeadline(dl)
	msgs := 0
	for i := 0; ; i++ {
		f, err := ws.ReadFrame()
		if err != nil {
			return out, fmt.Errorf("waiting for the first ping on %s (%d messages came): %w", path, msgs, err)
		}
		if f.Op == WSClose {
			return out, fmt.Errorf("the server closed %s (%d) before its first ping", path, f.CloseCode())
		}
		if f.Op == WSPing {
			if err := ws.WriteFrame(WSPong, f.Payload); err != nil {
				return out, fmt.Errorf("pong: %w", err)
			}
			break
		}
		msgs++
		if i > 1<<20 {
			return out, fmt.Errorf("%d frames and no ping on %s", i, path)
		}
	}
	c.SetDeadline(time.Time{})
	what := fmt.Sprintf("upgraded %s, answered a ping at %.1fs (%d messages before), cut", path, time.Since(start).Seconds(), msgs)
	return tg.cutAndWatch(ctx, c, what, nil)
}

// IsLocal reports whether ip is an address of this host, where the
// target's sockets can be seen (Sockets).
func IsLocal(ip netip.Addr) bool {
	if ip.IsLoopback() {
		return true
	}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil && p.Addr().Unmap() == ip {
			return true
		}
	}
	return false
}
