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

// presetListener sets keepalive and TCP_USER_TIMEOUT as o says on the
// listening socket tl, for accepted sockets to inherit, and returns those
// it could set.
func presetListener(tl *net.TCPListener, o *Options) sockFlags {
	rc, err := tl.SyscallConn()
	if err != nil {
		return 0
	}
	var sf sockFlags
	rc.Control(func(fd uintptr) {
		f := int(fd)
		ka := keepAliveOpts(o)
		ok := true
		for _, v := range ka {
			ok = ok && unix.SetsockoptInt(f, v.level, v.opt, v.val) == nil
		}
		if ok {
			sf |= sockKeepAlive
		}
		// Linux refuses TCP_USER_TIMEOUT on a listening socket in some
		// versions: it is then set per connection.
		if o.UserTimeout > 0 && unix.SetsockoptInt(f, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT, int(o.UserTimeout.Milliseconds())) == nil {
			sf |= sockUserTimeout
		}
	})
	return sf
}

// inherited returns those of the preset options the accepted socket tc
// has with the values o says.
func inherited(tc *net.TCPConn, o *Options, preset sockFlags) sockFlags {
	rc, err := tc.SyscallConn()
	if err != nil || preset == 0 {
		return 0
	}
	var sf sockFlags
	rc.Control(func(fd uintptr) {
		f := int(fd)
		if preset&sockKeepAlive != 0 {
			ok := true
			for _, v := range keepAliveOpts(o) {
				got, err := unix.GetsockoptInt(f, v.level, v.opt)
				ok = ok && err == nil && got == v.val
			}
			if ok {
				sf |= sockKeepAlive
			}
		}
		if preset&sockUserTimeout != 0 {
			got, err := unix.GetsockoptInt(f, unix.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
			if err == nil && got == int(o.UserTimeout.Milliseconds()) {
				sf |= sockUserTimeout
			}
		}
	})
	return sf
}

type sockOpt struct{ level, opt, val int }

// keepAliveOpts are the socket options net.TCPConn.SetKeepAliveConfig sets
// for o's keepalive (durations rounded up to whole seconds, as it does).
func keepAliveOpts(o *Options) [4]sockOpt {
	secs := func(d time.Duration) int { return int((d + time.Second - 1) / time.Second) }
	return [4]sockOpt{
		{unix.SOL_SOCKET, unix.SO_KEEPALIVE, 1},
		{unix.IPPROTO_TCP, unix.TCP_KEEPIDLE, secs(o.KeepAliveIdle)},
		{unix.IPPROTO_TCP, unix.TCP_KEEPINTVL, secs(o.KeepAliveInterval)},
		{unix.IPPROTO_TCP, unix.TCP_KEEPCNT, o.KeepAliveCount},
	}
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

func tcpInfo(tc *net.TCPConn) *TCPInfo { return tcpInfoOutq(tc, true) }

// tcpInfoOutq is tcpInfo, without UnackedBytes (one ioctl less) unless outq.
func tcpInfoOutq(tc *net.TCPConn, outq bool) *TCPInfo {
	i, q := rawTCPInfoOutq(tc, outq)
	if i == nil {
		return nil
	}
	unacked := uint32(0)
	if q := uint32(q); q > i.Notsent_bytes {
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
