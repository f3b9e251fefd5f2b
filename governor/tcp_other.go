//go:build !linux

package governor

import (
	"net"
	"time"
)

func setUserTimeout(*net.TCPConn, time.Duration) error { return nil }

func bytesAcked(*net.TCPConn) (uint64, time.Duration, bool) { return 0, 0, false }

func tcpInfo(*net.TCPConn) *TCPInfo { return nil }
