package faultkit

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
)

// serverFrame is an unmasked frame as a server sends it.
func serverFrame(op byte, n int) []byte {
	b := []byte{0x80 | op}
	switch {
	case n < 126:
		b = append(b, byte(n))
	case n <= 0xFFFF:
		b = append(b, 126)
		b = binary.BigEndian.AppendUint16(b, uint16(n))
	default:
		b = append(b, 127)
		b = binary.BigEndian.AppendUint64(b, uint64(n))
	}
	return append(b, bytes.Repeat([]byte{'x'}, n)...)
}

func TestWSFrames(t *testing.T) {
	t.Run("a client frame is masked and unmasks to its payload, at every length encoding", func(t *testing.T) {
		for _, n := range []int{0, 125, 126, 0xFFFF, 0x10000} {
			p := bytes.Repeat([]byte{'a'}, n)
			f := appendWSFrame(nil, WSPong, p)
			if f[0] != 0x80|WSPong || f[1]&0x80 == 0 {
				t.Fatalf("n=%d: header % x: want FIN, pong, masked", n, f[:2])
			}
			hl := 2
			switch f[1] & 0x7F {
			case 126:
				hl += 2
			case 127:
				hl += 8
			}
			mask, body := f[hl:hl+4], f[hl+4:]
			if len(body) != n {
				t.Fatalf("n=%d: payload of %d bytes", n, len(body))
			}
			for i := range body {
				body[i] ^= mask[i&3]
			}
			if !bytes.Equal(body, p) {
				t.Fatalf("n=%d: payload does not unmask", n)
			}
		}
	})
	t.Run("server frames are read at every length encoding, a huge one kept to 64 KiB", func(t *testing.T) {
		var in bytes.Buffer
		sizes := []int{0, 125, 126, 0xFFFF, 200 << 10}
		for _, n := range sizes {
			in.Write(serverFrame(WSBinary, n))
		}
		in.Write([]byte{0x88, 2, 0x03, 0xE9}) // close 1001
		ws := &WSConn{br: bufio.NewReader(&in)}
		for _, n := range sizes {
			f, err := ws.ReadFrame()
			if err != nil || f.Op != WSBinary || !f.Fin || f.Len != int64(n) || len(f.Payload) != min(n, wsKeep) {
				t.Fatalf("frame of %d: %+v len(payload) %d, %v", n, f.Op, len(f.Payload), err)
			}
		}
		f, err := ws.ReadFrame()
		if err != nil || f.Op != WSClose || f.CloseCode() != 1001 {
			t.Fatalf("close: op %d code %d, %v", f.Op, f.CloseCode(), err)
		}
	})
	t.Run("a masked server frame and a long control frame are errors", func(t *testing.T) {
		for _, c := range []struct {
			name string
			in   []byte
			want string
		}{
			{"masked", []byte{0x81, 0x81, 1, 2, 3, 4, 'x'}, "masked"},
			{"long ping", serverFrame(WSPing, 126), "control frame of 126"},
		} {
			ws := &WSConn{br: bufio.NewReader(bytes.NewReader(c.in))}
			if _, err := ws.ReadFrame(); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
			}
		}
	})
}
