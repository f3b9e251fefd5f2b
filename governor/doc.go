// Package governor bounds every wait on a peer, at the net.Conn and
// net.Listener boundary, by progress rather than by a total deadline.
//
// It owns:
//
//   - the connection caps: a global cap and a per-IP cap; at a cap a
//     connection is evicted to admit the new one — one idle for a second or
//     more, else the one waiting longest for its header or handshake (a
//     slowloris), else the one idle longest — and when nothing can be
//     evicted the new one gets a fast refusal (a canned response, then
//     close);
//   - the governed Conn: byte and progress accounting, per-phase deadlines
//     (handshake, header, request body, response, idle keep-alive), an
//     optional minimum average rate and hard cap, large writes and sendfile
//     cut into chunks so a deadline measures a stall and never a whole
//     transfer, and abortive close (SO_LINGER 0) for every close caused by a
//     stall, a timeout or a dead peer;
//   - the verdict on a peer that sends nothing back: alive but not reading
//     (its kernel answers window probes: CauseStall) or gone (data
//     retransmitted or probes unanswered: CauseDeadPeer), from TCP_INFO;
//     the kernel is only a backstop: TCP keepalive finds an idle dead peer,
//     but TCP_USER_TIMEOUT, which cannot tell a slow reader from a dead
//     one, is not set while a connection lives (see Options.UserTimeout);
//   - the streams of a multiplexed (HTTP/2) connection (Stream), each with
//     its own body and response rules;
//   - one monotonic clock (Options.Clock): wall time only for display;
//   - the live connection Table (Snapshot, Kill) that every other component
//     reads, with close counts by cause.
//
// The governor knows nothing of HTTP. A protocol layer tells a Conn where it
// is (package httpd does, and its Govern does it for any net/http server;
// the package example shows a protocol of one's own): BeginRequest when a
// request's header has been parsed, BodyDone when its body has been read to
// the end, Idle when a keep-alive connection waits for the next request,
// Hijacked when the protocol layer gives the connection away, HandshakeDone
// after a TLS handshake, Multiplexed when requests are multiplexed on it
// (HTTP/2: then OpenStream per request, Active and Idle as streams open and
// close). A Conn never told anything stays in its first phase and is cut at
// HeaderTimeout (see Table.Listen). From those calls the Conn derives which
// rule bounds its next read:
//
//	handshake  accept (TLS listener) .. handshake done   HandshakeTimeout, total
//	header     accept or first byte after idle .. header  HeaderTimeout, total
//	body       each read of a request body                StallTimeout per read, BodyMinRate, TransferTimeout
//	handler    reads while the handler runs (no body left) none: the peer owes nothing; keepalive watches it
//	idle       after a response, before the next request  IdleTimeout, total
//	streams    multiplexed, streams open                  none on the conn: each Stream has the body rules
//
// Every write, in any phase, is bounded by StallTimeout: a write of at most
// WriteChunk bytes must make progress within StallTimeout. On Linux progress
// also counts the peer's acknowledgements (TCP_INFO bytes_acked) while a write
// is blocked, so a slow but alive reader behind large kernel buffers is never
// mistaken for a dead one, while a zero-window or vanished peer is cut with a
// RST. An alive peer with a closed window that holds more than
// ZeroWindowHeld bytes gets more time (Options.ZeroWindowTimeout): it may be
// draining a large receive buffer, with nothing on the wire meanwhile.
//
// Deadlines set by callers through SetReadDeadline/SetWriteDeadline (net/http
// uses them to interrupt its background read; handlers use them through
// http.ResponseController) are honoured as well: the socket deadline is the
// earlier of the caller's and the governor's, and a caller's timeout is
// returned to the caller unchanged.
//
// Package governor imports only the standard library and golang.org/x/sys; it
// must not import net/http or any package of this module.
package governor
