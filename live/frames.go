package live

import (
	"errors"
	"net"
)

// WebSocket opcodes (RFC 6455 §5.2) that the wire looks at.
const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xa
)

// frameScanner follows the frame headers of one direction of a WebSocket
// byte stream without copying or buffering payloads: only the header's at
// most 14 bytes are kept.
type frameScanner struct {
	hdr  [14]byte
	hn   int   // header bytes gathered
	need int   // the header's length, once its second byte is known
	left int64 // payload bytes of the current frame still to pass
}

// scan passes p through the scanner, calling on for each frame header it
// completes. When on returns false, scan returns the offset in p at which
// that frame's header began (0 if it began in an earlier buffer): the
// bytes from there must not be delivered. Otherwise it returns -1.
func (s *frameScanner) scan(p []byte, on func(op byte, fin bool, n int64) bool) int {
	i := 0
	for i < len(p) {
		if s.left > 0 {
			k := min(int64(len(p)-i), s.left)
			i += int(k)
			s.left -= k
			continue
		}
		start := i - s.hn
		if s.hn == 0 {
			s.need = 2
		}
		for i < len(p) && s.hn < s.need {
			s.hdr[s.hn] = p[i]
			s.hn++
			i++
			if s.hn == 2 {
				s.need = 2 + 4*int(s.hdr[1]>>7)
				switch s.hdr[1] & 0x7f {
				case 126:
					s.need += 2
				case 127:
					s.need += 8
				}
			}
		}
		if s.hn < s.need {
			return -1
		}
		n := s.length()
		op, fin := s.hdr[0]&0x0f, s.hdr[0]&0x80 != 0
		s.hn = 0
		s.left = max(n, 0)
		if !on(op, fin, n) {
			return max(start, 0)
		}
	}
	return -1
}

// length is the payload length of the complete header in s.hdr; a 64-bit
// length with its top bit set (invalid) is -1.
func (s *frameScanner) length() int64 {
	switch l := s.hdr[1] & 0x7f; l {
	case 126:
		return int64(s.hdr[2])<<8 | int64(s.hdr[3])
	case 127:
		var n uint64
		for _, b := range s.hdr[2:10] {
			n = n<<8 | uint64(b)
		}
		if n>>63 != 0 {
			return -1
		}
		return int64(n)
	default:
		return int64(l)
	}
}

// errTooBig is what the wire's reads return once a frame header declares a
// message over the limit; the reader then closes with 1009.
var errTooBig = errors.New("live: message over the limit")

// wire is the hijacked connection as the WebSocket library sees it: it
// follows the frame headers both ways, for liveness (any frame heard),
// pongs, message counts and the message limit, and stops a message over
// the limit at its header. Reads are by the library's one reader, writes
// under its write lock: each scanner has one user.
type wire struct {
	net.Conn
	c       *Conn
	in, out frameScanner
	inMsg   int64  // bytes of the message being received, so far declared
	pending []byte // scanned bytes net/http had buffered, read first
	err     error  // sticky read error (errTooBig), after pending
}

func (w *wire) Read(p []byte) (int, error) {
	if len(w.pending) > 0 {
		n := copy(p, w.pending)
		w.pending = w.pending[n:]
		return n, nil
	}
	if w.err != nil {
		return 0, w.err
	}
	n, err := w.Conn.Read(p)
	if n > 0 {
		if cut := w.in.scan(p[:n], w.inFrame); cut >= 0 {
			w.err = errTooBig
			if cut == 0 {
				return 0, w.err
			}
			return cut, nil
		}
	}
	return n, err
}

func (w *wire) Write(p []byte) (int, error) {
	n, err := w.Conn.Write(p)
	if n > 0 {
		w.out.scan(p[:n], w.outFrame)
	}
	return n, err
}

// inFrame hears a frame header from the peer.
func (w *wire) inFrame(op byte, fin bool, n int64) bool {
	c := w.c
	c.heard()
	switch op {
	case opText, opBinary, opContinuation:
		if op == opContinuation {
			w.inMsg += n
		} else {
			w.inMsg = n
		}
		if n < 0 || w.inMsg > c.opts.MaxMessage {
			c.tooBig.Store(true)
			return false
		}
		if fin {
			c.msgIn()
		}
	case opPong:
		c.pong()
	case opClose:
		if !c.closing.Load() && c.sock != nil {
			c.sock.PeerClosed()
		}
	}
	return true
}

// outFrame sees a frame header go out.
func (w *wire) outFrame(op byte, fin bool, _ int64) bool {
	c := w.c
	switch op {
	case opText, opBinary, opContinuation:
		if fin && c.sock != nil {
			c.sock.MessageOut()
		}
	case opClose:
		c.closeOut.Do(func() { close(c.closeSent) })
	}
	return true
}
