package governor

// Phase is where a connection is in its life, as shown in the Table.
type Phase uint32

// The phases of a connection. PhaseBody and PhaseWrite are shown while a read
// of the request body or a write to the peer is under way; between them a
// request is in PhaseHandler.
const (
	PhaseHandshake Phase = iota // TLS handshake
	PhaseHeader                 // reading a request header
	PhaseBody                   // reading a request body
	PhaseHandler                // the handler runs; nothing is being read or written
	PhaseWrite                  // writing to the peer
	PhaseIdle                   // keep-alive: waiting for the next request
	PhaseHijacked               // handed over by the protocol layer (e.g. WebSocket)
	PhaseStreams                // multiplexed (HTTP/2) with streams open: see each Stream's phase
	PhaseWebSocket              // a WebSocket (hijacked, with a Socket): see ConnInfo.Socket
	PhaseStream                 // an event stream (a response with a Socket): see ConnInfo.Socket
	PhaseClosed                 // closed
	numPhases
)

var phaseNames = [numPhases]string{"handshake", "header", "body", "handler", "write", "idle", "hijacked", "streams", "websocket", "stream", "closed"}

// String returns the phase's lower-case name, as used in logs and JSON.
func (p Phase) String() string {
	if p < numPhases {
		return phaseNames[p]
	}
	return "unknown"
}

// MarshalText makes a Phase appear by name in JSON.
func (p Phase) MarshalText() ([]byte, error) { return []byte(p.String()), nil }

// Cause is why a connection was closed.
type Cause uint32

// The close causes. Causes marked abortive close with SO_LINGER 0: the kernel
// socket and its send buffer are gone at once, leaving no orphan behind.
const (
	CauseNone            Cause = iota
	CauseClosed                // the server closed it in the normal course (Connection: close, error response)
	CausePeerClosed            // the peer closed or reset it
	CauseHandshake             // the TLS handshake overran HandshakeTimeout (abortive)
	CauseHeaderTimeout         // the request header overran HeaderTimeout (abortive)
	CauseStall                 // a body read or a write made no progress for StallTimeout: for a write, the peer acknowledged nothing, though it still answers (abortive)
	CauseMinRate               // a body or response fell below MinRate (abortive)
	CauseTransferTimeout       // a body or response overran TransferTimeout (abortive)
	CauseIdle                  // keep-alive wait overran IdleTimeout
	CauseDeadPeer              // the peer is gone: the kernel shows keepalive or window probes or retransmissions unanswered, or gave up itself (abortive)
	CauseEvicted               // idle, evicted to admit a new connection at a cap
	CauseHandlerTimeout        // its handler overran the handler deadline (abortive)
	CauseKilled                // killed through Table.Kill (abortive)
	CauseShutdown              // closed by server shutdown
	CausePongTimeout           // a WebSocket peer answered no ping, nor sent any frame, within its pong timeout (abortive)
	numCauses
)

var causeNames = [numCauses]string{
	"none", "closed", "peer-closed", "handshake-timeout", "header-timeout", "stall",
	"min-rate", "transfer-timeout", "idle", "dead-peer", "evicted", "handler-timeout",
	"killed", "shutdown", "pong-timeout",
}

// String returns the cause's name, as used in logs, metrics and JSON.
func (c Cause) String() string {
	if c < numCauses {
		return causeNames[c]
	}
	return "unknown"
}

// MarshalText makes a Cause appear by name in JSON.
func (c Cause) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// Abortive reports whether connections closed for this cause are reset
// (SO_LINGER 0) rather than closed with a FIN.
func (c Cause) Abortive() bool {
	switch c {
	case CauseHandshake, CauseHeaderTimeout, CauseStall, CauseMinRate, CauseTransferTimeout,
		CauseDeadPeer, CauseHandlerTimeout, CauseKilled, CausePongTimeout:
		return true
	}
	return false
}

// Causes lists every cause a connection can be closed for, in a stable order.
func Causes() []Cause {
	cs := make([]Cause, 0, numCauses-1)
	for c := CauseClosed; c < numCauses; c++ {
		cs = append(cs, c)
	}
	return cs
}

// mode is the protocol state the governing layer reported; the Phase shown
// is derived from it and from the I/O under way.
type mode uint8

const (
	modeHandshake mode = iota
	modeHeader
	modeRequest
	modeIdle
	modeHijacked
	modeStreams // multiplexed, with streams open
)
