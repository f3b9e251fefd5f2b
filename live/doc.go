// Package live serves the long-lived endpoints of a device UI, governed:
// WebSockets (on github.com/coder/websocket) and server-sent event
// streams, each alive by proof or gone in seconds, and each visible in the
// governor's Table.
//
// A WebSocket is pinged every Options.Ping; a peer that answers no ping,
// and sends no frame of any kind, within Options.PongTimeout is gone: it
// is sent close 1001 and its connection reset (governor.CausePongTimeout).
// A write the peer does not acknowledge within the stall timeout is cut by
// the governed connection (stall or dead-peer), as any write. A message
// whose frame header declares more than Options.MaxMessage bytes (one
// frame, or the fragments of one message together) is refused with close
// 1009 as soon as that header arrives: none of it is read or allocated.
// Shutdown (Hub.Shutdown) sends close 1001 to every socket and waits for
// their close handshakes within its context, then cuts the rest.
//
// An event stream (Stream) writes event, id and retry fields, a heartbeat
// comment every Heartbeat so that proxies keep it and a vanished peer is
// found by the stall rule, and gives the handler the Last-Event-ID the
// browser sends when it reconnects.
//
// Neither is bounded by the handler timeout: their routes' policy says
// so (package vigil gives handler=websocket and handler=events routes no
// handler deadline, no minimum rate and no transfer cap); liveness is the
// pong, the acknowledged write and the heartbeat.
//
// Package live imports governor of this module, nothing else of it.
package live
