package governor

import (
	"log/slog"
	"time"
)

// Defaults applied by NewTable to zero fields of Options.
const (
	DefaultHeaderTimeout  = 10 * time.Second
	DefaultStallTimeout   = 30 * time.Second
	DefaultIdleTimeout    = 30 * time.Second
	DefaultMaxConns       = 1024
	DefaultMaxConnsPerIP  = 64
	DefaultWriteChunk     = 64 << 10
	DefaultKeepAliveCount = 4
	DefaultOrphanTimeout  = time.Second
	// DefaultBodyMinRate is the minimum rate of a request body, in bytes per
	// second, when neither BodyMinRate nor MinRate is set: Apache
	// mod_reqtimeout's default. A 64 MiB firmware image still has 36 hours.
	DefaultBodyMinRate = 500
)

// Options configures a Table and every connection it admits. The zero value
// works: each zero field takes its Default… value when NewTable runs.
type Options struct {
	// HandshakeTimeout bounds the TLS handshake on listeners opened with
	// ListenerOptions.TLS, as a total deadline from accept. Zero means
	// HeaderTimeout.
	HandshakeTimeout time.Duration

	// HeaderTimeout bounds the request header, as a total deadline from accept
	// (first request) or from the first byte of the next request on a
	// keep-alive connection. A byte-a-second slowloris is cut when it expires.
	// Zero means DefaultHeaderTimeout.
	HeaderTimeout time.Duration

	// StallTimeout bounds every read of a request body and every write to the
	// peer: each must make progress within it. Zero means DefaultStallTimeout.
	StallTimeout time.Duration

	// MinRate is the minimum average rate, in bytes per second, of a request
	// body or a response once it has started (mod_reqtimeout semantics: the
	// transfer may take StallTimeout plus one second per MinRate bytes). Zero
	// means no minimum rate.
	MinRate int64

	// BodyMinRate is MinRate for request bodies alone (mod_reqtimeout's
	// body MinRate): a body trickled slower is cut, while it still makes
	// progress, after StallTimeout plus one second per BodyMinRate bytes.
	// Zero means MinRate when that is set, else DefaultBodyMinRate;
	// negative means none.
	BodyMinRate int64

	// TransferTimeout is a hard cap on the time one request body or one
	// response may take once it has started. Zero means no cap.
	TransferTimeout time.Duration

	// IdleTimeout bounds the wait for the next request on a keep-alive
	// connection, as a total deadline from the end of the previous response.
	// Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration

	// MaxConns caps the connections open at once across all listeners of the
	// Table. At the cap a connection is evicted to admit a new one: the one
	// idle longest if for PressureGrace or more, else the one waiting
	// longest for its header or handshake, else the one idle longest; when
	// none is idle or waiting the new one is refused. Zero means
	// DefaultMaxConns; negative means no cap.
	MaxConns int

	// MaxConnsPerIP caps the connections open at once from one remote IPv4
	// address or IPv6 /64, with the same eviction and refusal rules as
	// MaxConns. Zero
	// means DefaultMaxConnsPerIP; negative means no cap.
	MaxConnsPerIP int

	// KeepAliveIdle, KeepAliveInterval and KeepAliveCount set TCP keepalive on
	// every accepted socket: the first probe after KeepAliveIdle without
	// traffic, then every KeepAliveInterval, giving up after KeepAliveCount
	// unanswered probes. Zero durations are derived from StallTimeout (a third
	// of it, and a sixth of it) so that an idle dead peer is found in about one
	// StallTimeout; a zero count means DefaultKeepAliveCount. Linux rounds the
	// durations up to whole seconds.
	KeepAliveIdle     time.Duration
	KeepAliveInterval time.Duration // see KeepAliveIdle
	KeepAliveCount    int           // see KeepAliveIdle

	// UserTimeout, if positive, sets TCP_USER_TIMEOUT on every accepted
	// socket while its connection lives: only a backstop, never the judge.
	// The governor, which sees the peer's acknowledgements, decides when a
	// peer that sends nothing back is gone, and cuts it with a RST at the
	// stall timeout; the kernel cannot tell a slow reader from a dead one
	// (since Linux 5.11 TCP_USER_TIMEOUT also aborts a connection whose
	// window stays closed, even while every probe is answered, and without a
	// RST). So a positive value below 4 × StallTimeout is raised to that.
	// Zero or negative (the default) sets none: the kernel's own limits
	// (tcp_retries2, about 15 minutes) are the backstop, and TCP keepalive
	// finds a peer that vanished while nothing was being sent.
	UserTimeout time.Duration

	// OrphanTimeout bounds the socket a graceful close leaves to the kernel
	// (an orphan sending its FIN): at such a close TCP_USER_TIMEOUT is set to
	// it when nothing but the FIN is left to send, and to 4 × StallTimeout
	// when the tail of a response still is (a slow reader may be draining
	// it), so a peer that vanished meanwhile leaves no orphan behind for
	// long. Zero means DefaultOrphanTimeout;
	// negative sets none.
	OrphanTimeout time.Duration

	// ZeroWindowTimeout is the longest a write may go without acknowledged
	// progress to a peer that is alive (it answers the kernel's window
	// probes) but keeps its window closed, when that peer holds much
	// acknowledged data: a slow reader behind a large receive buffer
	// (many MiB, as autotuning gives a client that started fast) reopens
	// its window only after draining a good part of it, with nothing on
	// the wire meanwhile. A write to a peer holding more than
	// ZeroWindowHeld unread is allowed ZeroWindowTimeout; a peer holding
	// less, a peer whose probes or data go unanswered, and every read are
	// bounded by StallTimeout. Zero means 4 × StallTimeout; less than
	// StallTimeout means StallTimeout (no allowance).
	ZeroWindowTimeout time.Duration

	// Clock is the time source; nil means SystemClock. Every time the
	// governor keeps is monotonic; the wall clock is only displayed.
	Clock Clock

	// WriteChunk is the largest piece, in bytes, handed to the kernel in one
	// write or sendfile call, so that StallTimeout measures a stall and not a
	// whole transfer. Where the kernel reports the peer's acknowledgements
	// (Linux TCP), a blocked call is also woken every StallTimeout/4 to look
	// at them, so sendfile there goes in pieces of up to 1 MiB. Zero means
	// DefaultWriteChunk.
	WriteChunk int

	// Logger receives one line per close that was not a normal one (Info) and
	// per normal close, refusal and eviction (Debug). Nil means discard.
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.HeaderTimeout <= 0 {
		o.HeaderTimeout = DefaultHeaderTimeout
	}
	if o.HandshakeTimeout <= 0 {
		o.HandshakeTimeout = o.HeaderTimeout
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MinRate < 0 {
		o.MinRate = 0
	}
	switch {
	case o.BodyMinRate == 0 && o.MinRate > 0:
		o.BodyMinRate = o.MinRate
	case o.BodyMinRate == 0:
		o.BodyMinRate = DefaultBodyMinRate
	case o.BodyMinRate < 0:
		o.BodyMinRate = 0
	}
	if o.TransferTimeout < 0 {
		o.TransferTimeout = 0
	}
	if o.MaxConns == 0 {
		o.MaxConns = DefaultMaxConns
	}
	if o.MaxConnsPerIP == 0 {
		o.MaxConnsPerIP = DefaultMaxConnsPerIP
	}
	if o.KeepAliveIdle <= 0 {
		o.KeepAliveIdle = o.StallTimeout / 3
	}
	if o.KeepAliveInterval <= 0 {
		o.KeepAliveInterval = o.StallTimeout / 6
	}
	if o.KeepAliveCount <= 0 {
		o.KeepAliveCount = DefaultKeepAliveCount
	}
	switch {
	case o.UserTimeout <= 0:
		o.UserTimeout = 0
	case o.UserTimeout < 4*o.StallTimeout:
		o.UserTimeout = 4 * o.StallTimeout
	}
	switch {
	case o.ZeroWindowTimeout == 0:
		o.ZeroWindowTimeout = 4 * o.StallTimeout
	case o.ZeroWindowTimeout < o.StallTimeout:
		o.ZeroWindowTimeout = o.StallTimeout
	}
	switch {
	case o.OrphanTimeout == 0:
		o.OrphanTimeout = DefaultOrphanTimeout
	case o.OrphanTimeout < 0:
		o.OrphanTimeout = 0
	}
	if o.WriteChunk <= 0 {
		o.WriteChunk = DefaultWriteChunk
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Limits are the per-request bounds a protocol layer may override, for
// example per route: a firmware upload route may allow a slow rate that an
// API route does not. Zero fields take the Table's Options.
type Limits struct {
	// StallTimeout bounds each read of the request body and each write of the
	// response; zero means Options.StallTimeout.
	StallTimeout time.Duration
	// MinRate is the minimum average rate in bytes per second of the body and
	// of the response; zero means Options.MinRate (and Options.BodyMinRate
	// for the body), negative means none.
	MinRate int64
	// bodyMinRate is the body's minimum rate, as resolve derives it: MinRate
	// when set here, else Options.BodyMinRate.
	bodyMinRate int64
	// TransferTimeout caps the body and the response each; zero means
	// Options.TransferTimeout, negative means none.
	TransferTimeout time.Duration
}

func (l Limits) resolve(o *Options) Limits {
	if l.StallTimeout <= 0 {
		l.StallTimeout = o.StallTimeout
	}
	switch {
	case l.MinRate > 0:
		l.bodyMinRate = l.MinRate
	case l.MinRate < 0:
		l.bodyMinRate = 0
	default:
		l.bodyMinRate = o.BodyMinRate
	}
	switch {
	case l.MinRate == 0:
		l.MinRate = o.MinRate
	case l.MinRate < 0:
		l.MinRate = 0
	}
	switch {
	case l.TransferTimeout == 0:
		l.TransferTimeout = o.TransferTimeout
	case l.TransferTimeout < 0:
		l.TransferTimeout = 0
	}
	return l
}
