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
	rc, err := tc.SyscallConn()
	if err != nil {
		return nil
	}
	var info *unix.TCPInfo
	rc.Control(func(fd uintptr) {
		info, _ = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	})
	return info
}

// bytesAcked returns the bytes the peer has acknowledged so far.
func bytesAcked(tc *net.TCPConn) (uint64, bool) {
	if i := rawTCPInfo(tc); i != nil {
		return i.Bytes_acked, true
	}
	return 0, false
}

func tcpInfo(tc *net.TCPConn) *TCPInfo {
	i := rawTCPInfo(tc)
	if i == nil {
		return nil
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
		SendWindow:   i.Snd_wnd,
		BytesAcked:   i.Bytes_acked,
		BytesRecv:    i.Bytes_received,
		LastDataSent: ms(i.Last_data_sent),
		LastDataRecv: ms(i.Last_data_recv),
		LastAckRecv:  ms(i.Last_ack_recv),
	}
}
