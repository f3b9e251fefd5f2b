//go:build !linux

package governor

import (
	"net"
	"time"
)

func presetListener(*net.TCPListener, *Options) sockFlags { return 0 }

func inherited(*net.TCPConn, *Options, sockFlags) sockFlags { return 0 }

func setUserTimeout(*net.TCPConn, time.Duration) error { return nil }

func bytesAcked(*net.TCPConn) (uint64, time.Duration, bool) { return 0, 0, false }

func tcpInfo(*net.TCPConn) *TCPInfo           { return nil }
func tcpInfoOutq(*net.TCPConn, bool) *TCPInfo { return nil }
