package faultkit

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
)

// The HTTP/2 wire format (RFC 9113) as far as this package's client needs
// it, and the part of HPACK (RFC 7541) that reads a response's :status.
// Frames are written and read by hand: the point of a fault kit is to send
// what a well-behaved client never would.

// ClientPreface is the connection preface an HTTP/2 client sends first.
const ClientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// Frame types.
const (
	FrameData         = 0x0
	FrameHeaders      = 0x1
	FramePriority     = 0x2
	FrameRSTStream    = 0x3
	FrameSettings     = 0x4
	FramePushPromise  = 0x5
	FramePing         = 0x6
	FrameGoAway       = 0x7
	FrameWindowUpdate = 0x8
	FrameContinuation = 0x9
)

// Frame flags.
const (
	FlagEndStream  = 0x1 // DATA, HEADERS
	FlagAck        = 0x1 // SETTINGS, PING
	FlagEndHeaders = 0x4 // HEADERS, CONTINUATION
	FlagPadded     = 0x8 // DATA, HEADERS
	FlagPriority   = 0x20
)

// Settings identifiers.
const (
	SettingHeaderTableSize      = 0x1
	SettingEnablePush           = 0x2
	SettingMaxConcurrentStreams = 0x3
	SettingInitialWindowSize    = 0x4
	SettingMaxFrameSize         = 0x5
	SettingMaxHeaderListSize    = 0x6
)

const (
	// frameHeaderLen is the fixed part of every frame.
	frameHeaderLen = 9
	// defaultMaxFrame is SETTINGS_MAX_FRAME_SIZE's initial value: the
	// largest payload either side may send unless told otherwise (the
	// client never tells the server otherwise).
	defaultMaxFrame = 16384
	// maxReadFrame caps a payload this client accepts.
	maxReadFrame = 1 << 20
	// maxHeaderBlock caps a response header block (HEADERS plus
	// CONTINUATION) this client collects.
	maxHeaderBlock = 1 << 20
	// MaxWindow is the largest flow-control window HTTP/2 allows.
	MaxWindow = 1<<31 - 1
	// CodeCancel is the RST_STREAM code a client uses to give up on a
	// stream.
	CodeCancel = 0x8
)

// errCodes names HTTP/2 error codes (RFC 9113, section 7).
var errCodes = []string{"NO_ERROR", "PROTOCOL_ERROR", "INTERNAL_ERROR", "FLOW_CONTROL_ERROR",
	"SETTINGS_TIMEOUT", "STREAM_CLOSED", "FRAME_SIZE_ERROR", "REFUSED_STREAM", "CANCEL",
	"COMPRESSION_ERROR", "CONNECT_ERROR", "ENHANCE_YOUR_CALM", "INADEQUATE_SECURITY", "HTTP_1_1_REQUIRED"}

// CodeName returns the name of an HTTP/2 error code, or its number in hex
// for an unknown one.
func CodeName(code uint32) string {
	if int(code) < len(errCodes) {
		return errCodes[code]
	}
	return "0x" + strconv.FormatUint(uint64(code), 16)
}

// AppendFrame appends one frame to b: the 9-byte header (payload length,
// type, flags, stream id with the reserved bit clear) and the payload.
func AppendFrame(b []byte, typ, flags byte, stream uint32, payload []byte) []byte {
	n := len(payload)
	b = append(b, byte(n>>16), byte(n>>8), byte(n), typ, flags)
	b = binary.BigEndian.AppendUint32(b, stream&MaxWindow)
	return append(b, payload...)
}

// Setting is one SETTINGS parameter.
type Setting struct {
	ID  uint16
	Val uint32
}

// settingsPayload encodes SETTINGS parameters.
func settingsPayload(s []Setting) []byte {
	b := make([]byte, 0, 6*len(s))
	for _, p := range s {
		b = binary.BigEndian.AppendUint16(b, p.ID)
		b = binary.BigEndian.AppendUint32(b, p.Val)
	}
	return b
}

// u32 encodes a 32-bit value (a WINDOW_UPDATE increment, an RST_STREAM
// code).
func u32(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }

// HeaderField is one header field of a request; names must be lower case.
type HeaderField struct{ Name, Value string }

// HeaderBlock encodes a request's header block for HPACK: the pseudo
// header fields, then fields, each as a literal without indexing and
// without Huffman coding, so the server's decoder table is never touched
// and the encoding needs no state.
func HeaderBlock(method, path, authority string, fields ...HeaderField) []byte {
	var b []byte
	b = appendLiteral(b, ":method", method)
	b = appendLiteral(b, ":scheme", "https")
	b = appendLiteral(b, ":authority", authority)
	b = appendLiteral(b, ":path", path)
	for _, f := range fields {
		b = appendLiteral(b, f.Name, f.Value)
	}
	return b
}

// appendLiteral appends a literal header field without indexing, new name.
func appendLiteral(b []byte, name, value string) []byte {
	b = append(b, 0x00)
	b = appendString(b, name)
	return appendString(b, value)
}

// appendString appends an HPACK string literal, not Huffman coded.
func appendString(b []byte, s string) []byte {
	b = appendInt(b, 7, 0, uint64(len(s)))
	return append(b, s...)
}

// appendInt appends an HPACK integer with an n-bit prefix; first holds the
// bits above the prefix.
func appendInt(b []byte, n uint, first byte, v uint64) []byte {
	limit := uint64(1)<<n - 1
	if v < limit {
		return append(b, first|byte(v))
	}
	b = append(b, first|byte(limit))
	v -= limit
	for v >= 128 {
		b = append(b, byte(v&0x7f|0x80))
		v >>= 7
	}
	return append(b, byte(v))
}

// errHPACK reports a header block this decoder cannot read.
var errHPACK = errors.New("hpack: cannot decode")

// readInt reads an HPACK integer with an n-bit prefix from b.
func readInt(b []byte, n uint) (uint64, []byte, error) {
	if len(b) == 0 {
		return 0, nil, errHPACK
	}
	limit := uint64(1)<<n - 1
	v := uint64(b[0]) & limit
	b = b[1:]
	if v < limit {
		return v, b, nil
	}
	for shift := uint(0); shift < 63; shift += 7 {
		if len(b) == 0 {
			return 0, nil, errHPACK
		}
		c := b[0]
		b = b[1:]
		v += uint64(c&0x7f) << shift
		if c&0x80 == 0 {
			return v, b, nil
		}
	}
	return 0, nil, errHPACK
}

// readString reads an HPACK string literal and reports whether it is
// Huffman coded; the bytes are returned as they are on the wire.
func readString(b []byte) (raw []byte, huffman bool, rest []byte, err error) {
	if len(b) == 0 {
		return nil, false, nil, errHPACK
	}
	huffman = b[0]&0x80 != 0
	n, b, err := readInt(b, 7)
	if err != nil || n > uint64(len(b)) {
		return nil, false, nil, errHPACK
	}
	return b[:n], huffman, b[n:], nil
}

// staticStatus maps the static table's :status entries (RFC 7541,
// appendix A) to their codes.
var staticStatus = map[uint64]int{8: 200, 9: 204, 10: 206, 11: 304, 12: 400, 13: 404, 14: 500}

// decodeStatus returns the :status of a response header block, or 0 if the
// block does not start with one this decoder can read. The client
// advertises SETTINGS_HEADER_TABLE_SIZE 0, so the server's encoder keeps no
// dynamic table and every field is either a static entry or a literal; a
// pseudo header comes first in a block. The value of a literal :status is
// three digits, raw or Huffman coded (digits have 5- and 6-bit codes).
func decodeStatus(block []byte) int {
	for range 4 { // dynamic table size updates may come first
		if len(block) == 0 {
			return 0
		}
		switch c := block[0]; {
		case c&0x80 != 0: // indexed field
			idx, _, err := readInt(block, 7)
			if err != nil {
				return 0
			}
			return staticStatus[idx]
		case c&0xe0 == 0x20: // dynamic table size update
			_, rest, err := readInt(block, 5)
			if err != nil {
				return 0
			}
			block = rest
			continue
		default: // a literal: with indexing (01), without (0000) or never (0001)
			prefix := uint(4)
			if c&0xc0 == 0x40 {
				prefix = 6
			}
			idx, rest, err := readInt(block, prefix)
			if err != nil {
				return 0
			}
			if idx == 0 {
				name, huff, r, err := readString(rest)
				if err != nil || huff || string(name) != ":status" {
					return 0
				}
				rest = r
			} else if _, ok := staticStatus[idx]; !ok {
				return 0
			}
			raw, huff, _, err := readString(rest)
			if err != nil {
				return 0
			}
			if huff {
				if raw = huffmanDigits(raw); raw == nil {
					return 0
				}
			}
			code, err := strconv.Atoi(string(raw))
			if err != nil || len(raw) != 3 {
				return 0
			}
			return code
		}
	}
	return 0
}

// huffmanDigits decodes a Huffman-coded string of decimal digits (RFC 7541,
// appendix B: '0'-'2' are 00000-00010, '3'-'9' are 011001-011111), or
// returns nil if it holds anything else. Padding is up to 7 one bits.
func huffmanDigits(b []byte) []byte {
	var out []byte
	bit := 0
	total := 8 * len(b)
	get := func(n int) (uint, bool) {
		if bit+n > total {
			return 0, false
		}
		var v uint
		for range n {
			v = v<<1 | uint(b[bit/8]>>(7-bit%8)&1)
			bit++
		}
		return v, true
	}
	for range 8 {
		if left := total - bit; left < 8 {
			v, _ := get(left)
			if v == 1<<left-1 { // EOS padding
				return out
			}
			bit -= left
		}
		v, ok := get(5)
		if !ok {
			return nil
		}
		if v <= 2 {
			out = append(out, byte('0'+v))
			continue
		}
		w, ok := get(1)
		if !ok {
			return nil
		}
		v = v<<1 | w
		if v < 0x19 || v > 0x1f {
			return nil
		}
		out = append(out, byte('3'+v-0x19))
	}
	if bit != total {
		return nil
	}
	return out
}

// frameHeader is the fixed part of a frame as read.
type frameHeader struct {
	length int
	typ    byte
	flags  byte
	stream uint32
}

// parseFrameHeader decodes the 9 bytes of a frame header.
func parseFrameHeader(b []byte) frameHeader {
	return frameHeader{
		length: int(b[0])<<16 | int(b[1])<<8 | int(b[2]),
		typ:    b[3],
		flags:  b[4],
		stream: binary.BigEndian.Uint32(b[5:]) & MaxWindow,
	}
}

// unpad strips a padded frame's padding (and a HEADERS frame's priority
// fields when prio is set) from its payload.
func unpad(h frameHeader, p []byte, prio bool) ([]byte, error) {
	if h.flags&FlagPadded != 0 {
		if len(p) == 0 || int(p[0]) >= len(p) {
			return nil, fmt.Errorf("frame type %d: bad padding", h.typ)
		}
		p = p[1 : len(p)-int(p[0])]
	}
	if prio && h.flags&FlagPriority != 0 {
		if len(p) < 5 {
			return nil, fmt.Errorf("headers: short priority")
		}
		p = p[5:]
	}
	return p, nil
}
