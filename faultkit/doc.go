// Package faultkit reproduces the faults an embedded web server must survive
// — a pulled cable, a peer that stops reading, a slowloris header, a body
// trickled byte by byte, a reset in the middle of a body, an idle keep-alive
// connection — and measures what the server's kernel does about them.
//
// It owns:
//
//   - Linux network namespaces created by this package (Netns, NewNetns) and
//     pairs of them joined by a veth link (Link, NewLink). Netns.Do runs a
//     function on a locked OS thread inside a namespace, so one process can
//     run a server in one namespace and its clients in another;
//   - the cable pull (CutConn): an nftables table in one namespace that drops
//     every packet of one TCP 4-tuple in both directions, so the peer sees no
//     FIN, no RST and no ACK, while other connections keep working;
//   - many cable pulls at once (CutAll): one table in one namespace whose
//     sets hold many 4-tuples, for a benchmark's hundreds of vanished peers;
//   - the same cable pull on the caller's own host (CutHere), for `vigil
//     hangcheck` against a target server: one table matching exactly one
//     4-tuple of this process, counting the RST, FIN and other packets the
//     target sends into the cut;
//   - the client sockets (DialTCP, DialOptions: buffers, keepalive and a
//     source address; Dialer: one target dialed again and again, inside a
//     namespace or not, with a cap on dials in flight) and extra client
//     addresses of a Link (Link.AddClientAddrs, one `ip -batch`), so many
//     peers come from many addresses and per-IP caps see them apart;
//   - the kernel's view of sockets (Sockets, WaitGone), read from `ss`,
//     including orphaned sockets that no process holds any more;
//   - client-side fault scenarios (Slowloris, SlowBody, StopReading,
//     ResetMidBody, IdleHold), each reporting a Result: bytes sent and
//     received, the status code seen, how the connection ended (FIN, RST or
//     still open) and how long the server held it;
//   - the three modes every scenario runs in (Mode): HTTP/1.1, HTTP/1.1 over
//     TLS and HTTP/2 over TLS, by ALPN and without verifying the server's
//     certificate (devices are self-signed). A scenario speaks the protocol
//     of the connection it is given (ModeOf); resets and cable pulls act on
//     the TCP connection under TLS (TCP);
//   - a raw HTTP/2 client (H2Client) that writes frames by hand and reads
//     the server's, and the HTTP/2 attacks built on it (H2Idle,
//     H2ZeroWindow, H2RapidReset, H2ContinuationFlood, H2SettingsFlood,
//     H2PingFlood, H2HugeHeaders), whose Results add the GOAWAY code, the
//     RST_STREAMs and the PINGs answered;
//   - a minimal WebSocket client (WSHandshake, WSConn: masked frames,
//     ping, pong, close) and WebSocketSilent, a peer that upgrades and then
//     answers nothing while its TCP stays alive;
//   - floods and peer groups: OpenFlood (many connections that send
//     nothing, and how each ended), Peers (a group of attackers, each kept
//     connected by Peers.Keep running a scenario again and again, with
//     their dials, endings and held times) and ReadFirst (a peer
//     mid-download, ready for a cut);
//   - the replay set (LoadReplay, ParseReplay, ReplayCase.Accepts,
//     Target.Replay): bad inputs (path traversal, framing, oversized and
//     malformed requests), one file each in faultkit/replay, embedded, with
//     the verdicts a sound server may give;
//   - the target-level scenarios of `vigil hangcheck` (Target, Target.Run,
//     Scenarios, RunsIn): each scenario above, reset-mid-response, the
//     cable pulls on this host with their watch (the target's socket for a
//     target on this host, the cut's counters and a late check for a remote
//     one), the flood and the replay set, each on fresh connections of the
//     target's mode, saying what it saw in an Outcome; and the probe
//     (Target.Probe, StartProbes: a fresh-connection GET every ProbeEvery,
//     the slowest latency) that shows whether the target still serves
//     others meanwhile.
//
// It is used by the tests of the server, by `vigil hangcheck` and by
// bench/attack, which only pick targets and modes, call it and print what
// it saw; serving code never imports it, and a device build (-tags
// nohangcheck) does not link it. It imports the standard library and
// golang.org/x/sys/unix only: not net/http (HTTP/1.1 responses are parsed
// by a tiny bounded reader of its own; HTTP/2 requests are HPACK literals
// and of a response only :status is decoded, with the client's dynamic
// table size set to 0 so no HPACK state is needed) and no package of this
// module. Its API does not depend on package testing.
//
// # Privileges and safety
//
// Everything that creates a namespace, an address or a rule (NewNetns,
// NewLink, Link.AddClientAddrs, CutConn, CutAll, CutHere, and the cable
// pulls of Target.Run) needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the
// `ip` and `nft` commands; Sockets needs `ss`. The other scenarios need no
// privilege. The package
// only ever touches namespaces it created: addresses come from the benchmark
// range 198.18.0.0/15, rules live inside the package's own namespaces, and
// every Close and Restore removes what was created and is idempotent. The
// one exception is CutHere, which its caller uses on purpose against a
// target it names: its table matches one 4-tuple of the caller's own
// connection and nothing else, its Restore runs even after cancellation,
// and RemoveStaleHostCuts deletes the tables of processes that died.
// Namespace names are "vgl<pid>x<random hex>" plus "s" or "c", so parallel
// tests and parallel test binaries never collide.
//
// # Bounds
//
// Every function takes a context. A context without a deadline is bounded by
// DefaultTimeout; every child process (ip, nft, ss) is also bounded by
// CommandTimeout. Every loop is bounded in time by that deadline and in
// count by a fixed cap.
package faultkit
