package governor

import "time"

// TCPInfo is the kernel's view of a TCP connection (Linux TCP_INFO), the
// fields that tell a stalled or vanished peer from a slow one: a peer that is
// gone shows Unacked > 0, Retransmits climbing and LastAckRecv growing; a
// peer that stopped reading shows a zero SendWindow and Probes climbing.
type TCPInfo struct {
	State        string        // kernel TCP state, e.g. "ESTABLISHED"
	RTT          time.Duration // smoothed round-trip time
	RTTVar       time.Duration // the round-trip time's mean deviation
	Unacked      uint32        // segments sent and not yet acknowledged
	Retransmits  uint8         // retransmissions of the current unacknowledged segment
	Probes       uint8         // unanswered keepalive or zero-window probes
	TotalRetrans uint32        // retransmitted segments over the connection's life
	Lost         uint32        // segments deemed lost
	NotSent      uint32        // bytes in the send buffer not yet sent
	UnackedBytes uint32        // bytes sent and not yet acknowledged
	SendWindow   uint32        // the peer's advertised receive window, bytes
	BytesAcked   uint64        // bytes the peer acknowledged over the connection's life
	BytesRecv    uint64        // bytes received from the peer over the connection's life
	LastDataSent time.Duration // since the last data segment was sent
	LastDataRecv time.Duration // since the last data segment was received
	LastAckRecv  time.Duration // since the last acknowledgement was received
}

var tcpStates = [...]string{
	"", "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT",
	"CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING",
}

func tcpStateName(s uint8) string {
	if int(s) < len(tcpStates) && s != 0 {
		return tcpStates[s]
	}
	return "UNKNOWN"
}
