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
//   - the same cable pull on the caller's own host (CutHere), for `vigil
//     hangcheck` against a target server: one table matching exactly one
//     4-tuple of this process, counting the RST, FIN and other packets the
//     target sends into the cut;
//   - the kernel's view of sockets (Sockets, WaitGone), read from `ss`,
//     including orphaned sockets that no process holds any more;
//   - client-side fault scenarios on a plain net.Conn (Slowloris, SlowBody,
//     StopReading, ResetMidBody, IdleHold), each reporting a Result: bytes
//     sent and received, the status code seen, how the connection ended (FIN,
//     RST or still open) and how long the server held it.
//
// It is used by the tests of the server and by `vigil hangcheck`; serving
// code never imports it. It imports the standard library and
// golang.org/x/sys/unix only: not net/http (responses are parsed by a tiny
// bounded reader of its own) and no package of this module. Its API does not
// depend on package testing.
//
// # Privileges and safety
//
// Everything that creates a namespace or a rule (NewNetns, NewLink, CutConn,
// CutHere) needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and the `ip` and `nft`
// commands; Sockets needs `ss`. The scenarios need no privilege. The package
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
