package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/faultkit"
)

// h2Scenarios are the scenarios that only HTTP/2 has; they run in mode h2.
var h2Scenarios = []string{"h2-idle-chatter", "h2-zero-window", "h2-rapid-reset", "h2-continuation-flood",
	"h2-settings-flood", "h2-ping-flood", "h2-huge-headers"}

// Sizes of the HTTP/2 attacks.
const (
	h2Streams      = 20       // streams of h2-zero-window
	h2Resets       = 10000    // streams of h2-rapid-reset
	h2FloodFrames  = 100000   // frames of the SETTINGS and PING floods
	h2Continuation = 64 << 20 // bytes of the CONTINUATION flood at most
	h2HugeHeaders  = 1 << 20  // bytes of the huge header block
	h2Chatter      = time.Second
	h2PingEvery    = 500 * time.Millisecond
)

// runsIn reports whether scenario runs in mode m: the h2-only scenarios in
// h2 only; the flood (connections that send nothing never reach ALPN) and
// the HTTP/1.1 replay set and the WebSocket scenarios (no WebSocket over
// HTTP/2 here) in http1 and https1 only.
func runsIn(scenario string, m faultkit.Mode) bool {
	switch {
	case slices.Contains(h2Scenarios, scenario):
		return m == faultkit.H2
	case scenario == "flood", scenario == "replay", isWS(scenario):
		return m != faultkit.H2
	}
	return true
}

// dial connects to the target in its mode.
func (tg target) dial(ctx context.Context, opt faultkit.DialOptions) (net.Conn, error) {
	c, err := faultkit.DialTCP(ctx, tg.addr, opt)
	if err != nil {
		return nil, err
	}
	return tg.secure(ctx, c)
}

// secure runs the TLS handshake of the target's mode on c (nothing for
// http1); without --insecure the certificate is verified for the URL's host.
func (tg target) secure(ctx context.Context, c *net.TCPConn) (net.Conn, error) {
	return tg.mode.ClientConfig(ctx, c, tg.tls)
}

// planModes returns the modes to run against a target: http1 for an http
// URL; https1 and, if the target's ALPN picks it, h2 for an https one
// (a note on stderr says when h2 is not offered). A TLS handshake that
// fails for another reason (a certificate that does not verify) is an
// error.
func planModes(ctx context.Context, tg target, want []faultkit.Mode, stderr io.Writer) ([]faultkit.Mode, error) {
	if tg.scheme == "http" {
		if !slices.Contains(want, faultkit.HTTP1) {
			return nil, nil
		}
		return []faultkit.Mode{faultkit.HTTP1}, nil
	}
	var modes []faultkit.Mode
	for _, m := range []faultkit.Mode{faultkit.HTTPS1, faultkit.H2} {
		if !slices.Contains(want, m) {
			continue
		}
		t := tg
		t.mode = m
		dctx, cancel := context.WithTimeout(ctx, probeTimeout)
		c, err := t.dial(dctx, faultkit.DialOptions{})
		cancel()
		switch {
		case errors.Is(err, faultkit.ErrNotOffered) && m == faultkit.H2:
			fmt.Fprintf(stderr, "hangcheck: %s does not offer h2 by ALPN: the h2 rows are skipped\n", tg.addr)
			continue
		case err != nil && strings.Contains(err.Error(), "certificate") && tg.tls != nil:
			return nil, fmt.Errorf("hangcheck: %w (a device with a self-signed certificate needs --insecure)", err)
		case err != nil:
			return nil, fmt.Errorf("hangcheck: %w", err)
		}
		c.Close()
		modes = append(modes, m)
	}
	return modes, nil
}

// tlsConfig returns the TLS configuration for an https target: nil (verify
// nothing) with --insecure, else verification against the system's roots
// for the URL's host name.
func tlsConfig(host string, insecure bool) *tls.Config {
	if insecure {
		return nil
	}
	return &tls.Config{ServerName: host}
}

// probeH2 sends one GET for the URL's path on a fresh h2 connection and
// returns the status.
func probeH2(ctx context.Context, tg target) (int, error) {
	d := net.Dialer{LocalAddr: probeSource(tg)}
	raw, err := d.DialContext(ctx, "tcp", tg.addr)
	if err != nil {
		return 0, err
	}
	defer raw.Close()
	c, err := tg.secure(ctx, raw.(*net.TCPConn))
	if err != nil {
		return 0, err
	}
	h, err := faultkit.NewH2Client(ctx, c, faultkit.H2Options{Window: faultkit.MaxWindow})
	if err != nil {
		return 0, err
	}
	defer h.Close()
	id, err := h.Request("GET", tg.path, false)
	if err != nil {
		return 0, err
	}
	s, ok := h.Wait(time.Time{}, func(s faultkit.H2State) bool { st := s.Streams[id]; return st.Header || st.Reset })
	switch st := s.Streams[id]; {
	case ok && st.Header:
		return st.Status, nil
	case ok:
		return 0, fmt.Errorf("stream reset: %s", faultkit.CodeName(st.Code))
	case s.Err != nil:
		return 0, s.Err
	}
	return 0, errors.New("no answer")
}

// h2Scenario runs one of the h2-only scenarios on a fresh connection.
func h2Scenario(ctx context.Context, tg target, o hangcheckOpts, r *row) error {
	c, err := tg.dial(ctx, faultkit.DialOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	var res faultkit.Result
	switch r.Scenario {
	case "h2-idle-chatter":
		res, err = faultkit.H2Idle(ctx, c, tg.path, h2Chatter)
	case "h2-zero-window":
		res, err = faultkit.H2ZeroWindow(ctx, c, o.large, h2Streams, h2PingEvery)
	case "h2-rapid-reset":
		res, err = faultkit.H2RapidReset(ctx, c, tg.path, h2Resets)
	case "h2-continuation-flood":
		res, err = faultkit.H2ContinuationFlood(ctx, c, tg.path, h2Continuation)
	case "h2-settings-flood":
		res, err = faultkit.H2SettingsFlood(ctx, c, h2FloodFrames)
	case "h2-ping-flood":
		res, err = faultkit.H2PingFlood(ctx, c, h2FloodFrames)
	case "h2-huge-headers":
		res, err = faultkit.H2HugeHeaders(ctx, c, tg.path, h2HugeHeaders)
	}
	r.Held, r.Ended = res.Held.Seconds(), res.Ended
	r.Detail = h2Detail(res)
	if r.Scenario == "h2-zero-window" && res.Resets < res.Streams && res.Ended == faultkit.EndedOpen {
		r.Why = fmt.Sprintf("%d of %d streams still open at a zero window", res.Streams-res.Resets, res.Streams)
	}
	return err
}

// h2Detail says what an HTTP/2 scenario saw.
func h2Detail(res faultkit.Result) string {
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

// timeouts are the target's own bounds, as far as known.
type timeouts struct {
	header, stall, idle time.Duration
	source              string // where they come from: "--timeouts" or the admin endpoint
}

// known reports whether any bound is known.
func (t timeouts) known() bool { return t.header > 0 || t.stall > 0 || t.idle > 0 }

// parseTimeouts parses --timeouts: "header=10s,stall=30s,idle=30s", any
// subset.
func parseTimeouts(s string) (timeouts, error) {
	t := timeouts{source: "--timeouts"}
	for _, kv := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(kv), "=")
		d, err := time.ParseDuration(v)
		if !ok || err != nil || d <= 0 {
			return t, fmt.Errorf("hangcheck: --timeouts %q: want header=10s,stall=30s,idle=30s (any of them)", s)
		}
		switch k {
		case "header":
			t.header = d
		case "stall":
			t.stall = d
		case "idle":
			t.idle = d
		default:
			return t, fmt.Errorf("hangcheck: --timeouts: unknown bound %q (header, stall, idle)", k)
		}
	}
	return t, nil
}

// infoItem matches one entry of the status page's configuration summary.
// It is compiled where it is used, not at init: a package-level regexp
// would link the regexp package into a device build without hangcheck.
func infoItem() *regexp.Regexp { return regexp.MustCompile(`<dt>([a-z-]+)</dt><dd>([^<]*)</dd>`) }

// adminTimeouts reads a vigil's bounds from its status page.
func adminTimeouts(ctx context.Context, admin string) (timeouts, error) {
	body, err := adminDo(ctx, parseAdmin(admin), "GET", "/status")
	if err != nil {
		return timeouts{}, fmt.Errorf("hangcheck: --admin: %w", err)
	}
	t := timeouts{source: "the status of " + admin}
	for _, m := range infoItem().FindAllSubmatch(body, 64) {
		d, err := time.ParseDuration(html.UnescapeString(string(m[2])))
		if err != nil {
			continue
		}
		switch string(m[1]) {
		case "header-timeout":
			t.header = d
		case "stall-timeout":
			t.stall = d
		case "idle-timeout":
			t.idle = d
		}
	}
	if !t.known() {
		return t, fmt.Errorf("hangcheck: --admin %s: the status page names no timeouts", admin)
	}
	return t, nil
}

// needs returns the target's bound that ends scenario, and its name, or 0
// when no known bound applies (a reset, a flood of requests, the replay set).
func (t timeouts) needs(scenario string) (time.Duration, string) {
	switch scenario {
	case "slowloris", "cable-pull-header", "flood":
		return t.header, "header"
	case "slow-body", "zero-window", "cable-pull-download", "h2-zero-window":
		return t.stall, "stall"
	case "idle-hold", "h2-idle-chatter":
		return t.idle, "idle"
	case "cable-pull-idle":
		return t.idle + t.stall, "idle + stall"
	}
	return 0, ""
}

// h2Read sends a GET for path on the h2 connection c and reads until n
// bytes of its body are in; it returns the bytes read.
func h2Read(ctx context.Context, c net.Conn, path string, n int64) (int64, error) {
	h, err := faultkit.NewH2Client(ctx, c, faultkit.H2Options{Window: faultkit.MaxWindow, ConnWindow: faultkit.MaxWindow - 65535})
	if err != nil {
		return 0, err
	}
	defer h.Close()
	id, err := h.Request("GET", path, false)
	if err != nil {
		return 0, err
	}
	s, ok := h.Wait(time.Time{}, func(s faultkit.H2State) bool { st := s.Streams[id]; return st.Data >= n || st.Ended || st.Reset })
	st := s.Streams[id]
	switch {
	case ok && st.Data < n:
		return st.Data, io.EOF // the response was shorter
	case !ok && s.Err != nil:
		return st.Data, s.Err
	}
	return st.Data, nil
}
