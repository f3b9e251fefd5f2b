package governor

import (
	"net"
	"time"

	"golang.org/x/sys/unix"
)

func setUserTimeout(tc *net.TCPConn, d time.Duration) error {
	rc, err := tc.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(d.Milliseconds()))
	})
	if err != nil {
		return err
	}
	return serr
}

func rawTCPInfo(tc *net.TCPConn) *unix.TCPInfo {
	info, _ := rawTCPInfoOutq(tc, false)
	return info
}

// rawTCPInfoOutq returns TCP_INFO and, if outq, the bytes in the send
// queue (SIOCOUTQ: unsent plus unacknowledged).
func rawTCPInfoOutq(tc *net.TCPConn, outq bool) (*unix.TCPInfo, int) {
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil, 0
	}
	var info *unix.TCPInfo
	var q int
	rc.Control(func(fd uintptr) {
		info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
		if outq {
			q, _ = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		}
	})
	return info, q
}

// bytesAcked returns the bytes the peer has acknowledged so far and the
// time since the last acknowledgement arrived.
func bytesAcked(tc *net.TCPConn) (uint64, time.Duration, bool) {
	if i := rawTCPInfo(tc); i != nil {
		return i.Bytes_acked, time.Duration(i.Last_ack_recv) * time.Millisecond, true
	}
	return 0, 0, false
}

func tcpInfo(tc *net.TCPConn) *TCPInfo {
	i, outq := rawTCPInfoOutq(tc, true)
	if i == nil {
		return nil
	}
	unacked := uint32(0)
	if q := uint32(outq); q > i.Notsent_bytes {
		unacked = q - i.Notsent_bytes
	}
	ms := func(v uint32) time.Duration { return time.Duration(v) * time.Millisecond }
	us := func(v uint32) time.Duration { return time.Duration(v) * time.Microsecond }
	return &TCPInfo{
		State:        tcpStateName(i.State),
		RTT:          us(i.Rtt),
		RTTVar:       us(i.Rttvar),
		Unacked:      i.Unacked,
		Retransmits:  i.Retransmits,
		Probes:       i.Probes,
		TotalRetrans: i.Total_retrans,
		Lost:         i.Lost,
		NotSent:      i.Notsent_bytes,
		UnackedBytes: unacked,
		SendWindow:   i.Snd_wnd,
		BytesAcked:   i.Bytes_acked,
		BytesRecv:    i.Bytes_received,
		LastDataSent: ms(i.Last_data_sent),
		LastDataRecv: ms(i.Last_data_recv),
		LastAckRecv:  ms(i.Last_ack_recv),
	}
}
