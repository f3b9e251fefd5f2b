package status

import (
	"fmt"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// StuckAfter is how long a connection may go without progress before the
// status page highlights it as stuck.
const StuckAfter = 2 * time.Second

// Stuck reports whether the status page highlights c: nothing has moved
// for StuckAfter — no byte in or out, and nothing acknowledged by the peer
// — in a phase where something should (an idle keep-alive or a hijacked
// connection may rightly be quiet). A slow reader whose acknowledgements
// advance is not stuck, however often its window closes; a multiplexed
// connection is stuck when one of its streams is.
func Stuck(c governor.ConnInfo) bool {
	switch c.Phase {
	case governor.PhaseIdle, governor.PhaseHijacked, governor.PhaseClosed:
		return false
	case governor.PhaseWebSocket, governor.PhaseStream:
		// Quiet is normal; a ping unanswered is not.
		return c.Socket != nil && c.Socket.PingWait >= StuckAfter
	case governor.PhaseStreams:
		for _, s := range c.StreamRows {
			if StreamStuck(s) {
				return true
			}
		}
		return false
	}
	if c.Held > governor.ZeroWindowHeld && c.DeadlineIn > 0 {
		// Alive, window closed, much unread data: a slow reader draining a
		// large buffer looks exactly so; its deadline bounds it.
		return false
	}
	return c.SinceProgress >= StuckAfter
}

// StreamStuck is Stuck for one stream of a multiplexed connection.
func StreamStuck(s governor.StreamInfo) bool { return s.SinceProgress >= StuckAfter }

// ExplainStream is Explain for one stream of a multiplexed connection.
func ExplainStream(s governor.StreamInfo) string {
	if s.SinceProgress < StuckAfter {
		return ""
	}
	since := secs(s.SinceProgress)
	switch s.Phase {
	case governor.PhaseBody:
		return "stream body stalled for " + since + ": client not sending"
	case governor.PhaseWrite:
		return "stream blocked for " + since + ": the peer's window for it stays closed (not reading)"
	}
	return "handler running, no I/O on its stream for " + since
}

// Explain returns a one-line guess, for a person, at why c is where it is,
// from its phase, its time without progress and the kernel's view; for
// example "peer not acknowledging for 7.2 s: 48 KiB unacked, 5 retransmits —
// probably gone" or "zero window: peer not reading". It returns "" for a
// connection that looks healthy.
func Explain(c governor.ConnInfo) string {
	if c.Phase == governor.PhaseStreams {
		for _, s := range c.StreamRows {
			if e := ExplainStream(s); e != "" {
				return fmt.Sprintf("stream %d (%s): %s", s.ID, s.Request, e)
			}
		}
	}
	if so := c.Socket; so != nil && c.Phase == governor.PhaseWebSocket && so.PingWait >= StuckAfter {
		return fmt.Sprintf("no pong for %s (last frame %s ago) — peer gone or not reading", secs(so.PingWait), secs(so.SinceHeard))
	}
	since := secs(c.SinceProgress)
	if k := c.Kernel; k != nil {
		switch {
		case c.SinceProgress < StuckAfter && k.State == "ESTABLISHED":
			// Bytes still move or are acknowledged: a slow reader, a lossy
			// link, or a peer that paused for less than StuckAfter.
		case k.Unacked > 0 && (k.Retransmits > 0 || k.Probes > 0 && k.LastAckRecv >= StuckAfter):
			return fmt.Sprintf("peer not acknowledging for %s: %s unacked, %s — probably gone",
				since, unackedText(k), plural(int(max(k.Retransmits, k.Probes)), retransmitWord(k)))
		case k.SendWindow == 0 && k.Probes > 0 && k.LastAckRecv >= StuckAfter:
			// Window probes go unanswered: not a slow reader but a peer
			// that vanished while its window was closed.
			return fmt.Sprintf("zero window and %s unanswered for %s — probably gone",
				plural(int(k.Probes), "window probe"), secs(k.LastAckRecv))
		case c.Held > governor.ZeroWindowHeld:
			s := fmt.Sprintf("window closed for %s while the peer holds %s unread: a slow reader draining a large buffer (or a stopped one)", since, bytesText(c.Held))
			if c.DeadlineIn > 0 {
				s += ", cut in " + secs(c.DeadlineIn) + " without progress"
			}
			return s
		case k.SendWindow == 0 && k.State == "ESTABLISHED" &&
			(c.Phase == governor.PhaseWrite || k.NotSent > 0 || k.Probes > 0):
			s := "zero window: peer not reading for " + since
			if k.NotSent > 0 {
				s += ", " + bytesText(int64(k.NotSent)) + " queued"
			}
			return s
		case k.State == "CLOSE_WAIT":
			return "peer closed its side; the server has not closed yet"
		case k.State != "" && k.State != "ESTABLISHED":
			return "kernel state " + k.State
		}
	}
	if c.SinceProgress < StuckAfter {
		return ""
	}
	switch c.Phase {
	case governor.PhaseHandshake:
		return "TLS handshake incomplete, nothing received for " + since + ": slow or stalled client"
	case governor.PhaseHeader:
		return "request header incomplete, nothing received for " + since + ": slow client or slowloris"
	case governor.PhaseBody:
		return "request body stalled for " + since + ": client not sending"
	case governor.PhaseWrite:
		return "write blocked for " + since + ": peer reading slowly or not at all"
	case governor.PhaseHandler:
		return "handler running, no I/O for " + since
	}
	return ""
}

func unackedText(k *governor.TCPInfo) string {
	if k.UnackedBytes > 0 {
		return bytesText(int64(k.UnackedBytes))
	}
	return plural(int(k.Unacked), "segment")
}

func retransmitWord(k *governor.TCPInfo) string {
	if k.Retransmits >= k.Probes {
		return "retransmit"
	}
	return "unanswered probe"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// secs formats d as seconds with one decimal: "7.2 s".
func secs(d time.Duration) string {
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// bytesText formats n in binary units: "512 B", "48 KiB", "1.5 MiB".
func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	v, i := float64(n)/unit, 0
	for v >= unit && i < 3 {
		v /= unit
		i++
	}
	u := [...]string{"KiB", "MiB", "GiB", "TiB"}[i]
	s := fmt.Sprintf("%.1f", v)
	return strings.TrimSuffix(s, ".0") + " " + u
}
