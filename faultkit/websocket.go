package faultkit

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// WebSocket opcodes (RFC 6455 §5.2) of the frames a WSConn reads and writes.
const (
	WSText   = 0x1
	WSBinary = 0x2
	WSClose  = 0x8
	WSPing   = 0x9
	WSPong   = 0xA
)

// Bounds of the WebSocket client.
const (
	// wsKeep is how much of a frame's payload ReadFrame keeps; the rest
	// is read and discarded, so a server's huge frame costs no memory.
	wsKeep = 64 << 10
	// wsGUID is the key suffix of RFC 6455 §1.3.
	wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
)

// WSFrame is one frame a WSConn read.
type WSFrame struct {
	Op  byte // WSText, WSPing, ...
	Fin bool
	// Len is the payload length the header declared; Payload holds at
	// most its first 64 KiB.
	Len     int64
	Payload []byte
}

// CloseCode returns the status code of a close frame's payload, 1005 (no
// status) when it has none.
func (f WSFrame) CloseCode() int {
	if len(f.Payload) < 2 {
		return 1005
	}
	return int(binary.BigEndian.Uint16(f.Payload))
}

// WSConn is a minimal WebSocket client (RFC 6455) on an upgraded
// connection: it reads frames (unmasked, as a server sends them) and writes
// masked ones, nothing more (no fragments reassembled, no extensions, no
// automatic pong). It is made by WSHandshake; ReadFrame belongs to one
// goroutine and WriteFrame to one goroutine. Deadlines are the caller's,
// on the connection.
type WSConn struct {
	br    *bufio.Reader
	write func([]byte) error
}

// WSHandshake sends the upgrade request for path (with Host host) on c,
// HTTP/1.1 in clear or over TLS, and reads the server's answer within ctx
// (DefaultTimeout without a deadline): 101 with the right
// Sec-WebSocket-Accept, or an error naming the status. c's deadlines are
// cleared on success.
func WSHandshake(ctx context.Context, c net.Conn, host, path string) (*WSConn, error) {
	ctx, cancel := bound(ctx)
	defer cancel()
	dl, _ := ctx.Deadline()
	c.SetDeadline(dl)
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	ws := &WSConn{br: bufio.NewReader(c), write: func(p []byte) error { _, err := c.Write(p); return err }}
	if _, err := ws.handshake(host, path); err != nil {
		return nil, fmt.Errorf("faultkit: websocket: %w", err)
	}
	if !stop() {
		return nil, fmt.Errorf("faultkit: websocket: %w", ctx.Err())
	}
	c.SetDeadline(time.Time{})
	return ws, nil
}

// handshake writes the upgrade request and reads the answer; it returns
// the status code.
func (w *WSConn) handshake(host, path string) (int, error) {
	var nonce [16]byte
	rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + path + " HTTP/1.1\r\nHost: " + host + "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Key: " + key + "\r\nSec-WebSocket-Version: 13\r\nUser-Agent: vigil-faultkit\r\n\r\n"
	if err := w.write([]byte(req)); err != nil {
		return 0, fmt.Errorf("upgrade request: %w", err)
	}
	budget := maxHead
	line, err := readLine(w.br, &budget)
	if err != nil {
		return 0, fmt.Errorf("upgrade answer: %w", err)
	}
	status := statusOf([]byte(line))
	var accept string
	for range maxHeaderLines {
		l, err := readLine(w.br, &budget)
		if err != nil {
			return status, fmt.Errorf("upgrade answer: %w", err)
		}
		if l == "" {
			break
		}
		if name, value, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(name), "Sec-WebSocket-Accept") {
			accept = strings.TrimSpace(value)
		}
	}
	if status != 101 {
		return status, fmt.Errorf("upgrade of %s answered %d, want 101", path, status)
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	if want := base64.StdEncoding.EncodeToString(sum[:]); accept != want {
		return status, fmt.Errorf("Sec-WebSocket-Accept %q, want %q", accept, want)
	}
	return status, nil
}

// ReadFrame reads the next frame. A masked frame from the server, or a
// control frame over 125 bytes, is an error (RFC 6455 §5.1, §5.5).
func (w *WSConn) ReadFrame() (WSFrame, error) {
	var h [2]byte
	if _, err := io.ReadFull(w.br, h[:]); err != nil {
		return WSFrame{}, err
	}
	f := WSFrame{Op: h[0] & 0x0F, Fin: h[0]&0x80 != 0}
	if h[1]&0x80 != 0 {
		return f, errors.New("websocket: a masked frame from the server")
	}
	n := int64(h[1] & 0x7F)
	switch n {
	case 126:
		var b [2]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return f, err
		}
		n = int64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err := io.ReadFull(w.br, b[:]); err != nil {
			return f, err
		}
		n = int64(binary.BigEndian.Uint64(b[:]) & (1<<63 - 1))
	}
	f.Len = n
	if f.Op >= WSClose && n > 125 {
		return f, fmt.Errorf("websocket: a control frame of %d bytes", n)
	}
	f.Payload = make([]byte, min(n, wsKeep))
	if _, err := io.ReadFull(w.br, f.Payload); err != nil {
		return f, err
	}
	if rest := n - int64(len(f.Payload)); rest > 0 {
		if _, err := io.CopyN(io.Discard, w.br, rest); err != nil {
			return f, err
		}
	}
	return f, nil
}

// WriteFrame writes one final frame of opcode op with payload, masked as a
// client must.
func (w *WSConn) WriteFrame(op byte, payload []byte) error {
	return w.write(appendWSFrame(nil, op, payload))
}

// appendWSFrame appends a final, masked frame to b.
func appendWSFrame(b []byte, op byte, payload []byte) []byte {
	b = append(b, 0x80|op&0x0F)
	switch n := len(payload); {
	case n < 126:
		b = append(b, 0x80|byte(n))
	case n <= 0xFFFF:
		b = append(b, 0x80|126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 0x80|127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	var mask [4]byte
	rand.Read(mask[:])
	b = append(b, mask[:]...)
	for i, c := range payload {
		b = append(b, c^mask[i&3])
	}
	return b
}

// WebSocketSilent upgrades c to a WebSocket at path (Host host), then
// reads every frame the server sends and answers none: no pong, no close
// reply, nothing, while its TCP stays alive (the kernel acknowledges every
// byte). It returns when the server closes the connection or ctx ends
// (DefaultTimeout without a deadline). Held runs from the upgrade; Pings
// counts the server's pings, CloseCode and CloseAt tell the server's close
// frame, if one came. c is not closed. HTTP/1.1 only (in clear or TLS).
func WebSocketSilent(ctx context.Context, c net.Conn, host, path string) (res Result, err error) {
	defer func() { err = prefix("websocket silent", err) }()
	s, done := newSession(ctx, c)
	defer done()
	ws := &WSConn{br: s.br, write: s.write}
	if !s.readUntil(s.deadline) {
		s.finish(EndedOpen)
		return s.res, nil
	}
	status, err := ws.handshake(host, path)
	s.res.Status = status
	if err != nil {
		s.finish("")
		return s.res, err
	}
	s.held = time.Now()
	for range maxReads {
		f, err := ws.ReadFrame()
		if err != nil {
			if over, err := s.over(err); over {
				return s.res, err
			}
			continue
		}
		switch f.Op {
		case WSPing:
			s.res.Pings++
		case WSClose:
			if s.res.CloseCode == 0 {
				s.res.CloseCode, s.res.CloseAt = f.CloseCode(), time.Since(s.held)
			}
		}
	}
	s.finish(EndedOpen)
	return s.res, nil
}
