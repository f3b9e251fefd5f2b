package demo

import (
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const (
	// LogSize is the size in bytes of logs/system.log in the FS returned by
	// FS: 64 MiB, 524288 lines.
	LogSize = 64 << 20

	// LogLineSize is the length in bytes of every line of a Log, its
	// newline included. Lines are padded with spaces to this length, so
	// line n starts at offset n*LogLineSize.
	LogLineSize = 128

	// logName is the name of a Log as its Stat reports it.
	logName = "system.log"

	// logStart is the time of the first line of a Log and the modification
	// time Stat reports: 2026-11-25T00:00:00Z. Line n is logged n seconds
	// later.
	logStart = 1795564800
)

// Log is an open, read-only, generated system log: a file of fixed-width
// lines whose content is a function of the offset, so reading at any offset
// takes time proportional to the bytes read and memory independent of the
// size. Every Log of a given size has the same content.
//
// Log implements fs.File, io.ReadSeeker and io.ReaderAt. ReadAt may be
// called concurrently; Read and Seek share the file offset, guarded by mu.
type Log struct {
	size   int64
	closed atomic.Bool

	mu  sync.Mutex
	off int64 // guarded by mu
}

// NewLog returns an open Log of size bytes, rounded down to a whole number of
// LogLineSize lines; a negative size means 0. FS serves one of LogSize bytes
// as logs/system.log; tests use a small one.
func NewLog(size int64) *Log {
	size = max(size, 0)
	return &Log{size: size - size%LogLineSize}
}

// Size returns the size of l in bytes.
func (l *Log) Size() int64 { return l.size }

// Stat returns the FileInfo of l: name "system.log", its size, mode 0444 and
// a fixed modification time, 2026-11-25T00:00:00Z.
func (l *Log) Stat() (fs.FileInfo, error) {
	if l.closed.Load() {
		return nil, l.errorf("stat", fs.ErrClosed)
	}
	return logInfo(l.size), nil
}

// Read reads up to len(p) bytes at the file offset and advances it.
func (l *Log) Read(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n, err := l.ReadAt(p, l.off)
	l.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil // like os.File: the next Read reports io.EOF
	}
	return n, err
}

// ReadAt reads len(p) bytes at offset off, not using or changing the file
// offset. It returns io.EOF when fewer than len(p) bytes remain.
func (l *Log) ReadAt(p []byte, off int64) (int, error) {
	if l.closed.Load() {
		return 0, l.errorf("read", fs.ErrClosed)
	}
	if off < 0 {
		return 0, l.errorf("read", fmt.Errorf("negative offset %d: %w", off, fs.ErrInvalid))
	}
	var line [LogLineSize]byte
	n := 0
	for n < len(p) && off < l.size {
		i, skip := off/LogLineSize, off%LogLineSize
		var c int
		if skip == 0 && len(p)-n >= LogLineSize {
			logLine(p[n:n+LogLineSize], i)
			c = LogLineSize
		} else {
			logLine(line[:], i)
			c = copy(p[n:], line[skip:])
		}
		n += c
		off += int64(c)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Seek sets the file offset for the next Read to offset, interpreted
// according to whence (io.SeekStart, io.SeekCurrent, io.SeekEnd), and
// returns it. A resulting offset before the start is an error; one past the
// end is allowed and reads io.EOF.
func (l *Log) Seek(offset int64, whence int) (int64, error) {
	if l.closed.Load() {
		return 0, l.errorf("seek", fs.ErrClosed)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = l.off + offset
	case io.SeekEnd:
		abs = l.size + offset
	default:
		return l.off, l.errorf("seek", fmt.Errorf("whence %d: %w", whence, fs.ErrInvalid))
	}
	if abs < 0 {
		return l.off, l.errorf("seek", fmt.Errorf("negative position %d: %w", abs, fs.ErrInvalid))
	}
	l.off = abs
	return abs, nil
}

// Close closes l. Later calls of any method but Size return fs.ErrClosed.
func (l *Log) Close() error {
	if l.closed.Swap(true) {
		return l.errorf("close", fs.ErrClosed)
	}
	return nil
}

func (l *Log) errorf(op string, err error) error {
	return fmt.Errorf("demo: %s %s: %w", op, logName, err)
}

// logLine writes line i of the log into dst, which is LogLineSize bytes long:
// a timestamp, the host name and a message chosen and filled from a hash of
// i, padded with spaces and ended by '\n'.
func logLine(dst []byte, i int64) {
	var buf [2 * LogLineSize]byte
	b := time.Unix(logStart+i, 0).UTC().AppendFormat(buf[:0], "2006-01-02T15:04:05Z")
	b = append(b, " vigil-demo "...)
	r := mix(uint64(i))
	u := uint64(i)
	host := 100 + r>>8%50 // a DHCP client, 192.168.1.100-149
	switch r % 16 {
	case 0, 1, 2, 3, 4:
		b = append(b, "kernel: ["...)
		b = zpad(b, u, 8)
		b = append(b, "] eth0: rx "...)
		b = strconv.AppendUint(b, u*113+r>>16%97, 10)
		b = append(b, " pkts, tx "...)
		b = strconv.AppendUint(b, u*71+r>>24%89, 10)
		b = append(b, " pkts, 0 errors"...)
	case 5:
		b = append(b, "kernel: ["...)
		b = zpad(b, u, 8)
		b = append(b, "] nf_conntrack: "...)
		b = strconv.AppendUint(b, 200+r>>16%3000, 10)
		b = append(b, "/16384 entries"...)
	case 6, 7:
		b = append(b, "dnsmasq-dhcp[412]: DHCPACK(br-lan) 192.168.1."...)
		b = strconv.AppendUint(b, host, 10)
		b = append(b, " 02:00:5e:00:00:"...)
		b = hex2(b, host)
		b = append(b, " client-"...)
		b = strconv.AppendUint(b, host, 10)
	case 8, 9, 10:
		b = append(b, "dnsmasq[412]: query[A] host"...)
		b = strconv.AppendUint(b, r>>16%500, 10)
		b = append(b, ".example.net from 192.168.1."...)
		b = strconv.AppendUint(b, host, 10)
	case 11:
		b = append(b, "hostapd: wlan0: STA 02:00:5e:00:00:"...)
		b = hex2(b, host)
		b = append(b, " IEEE 802.11: associated (aid "...)
		b = strconv.AppendUint(b, 1+r>>16%32, 10)
		b = append(b, ')')
	case 12:
		b = append(b, "hostapd: wlan0: STA 02:00:5e:00:00:"...)
		b = hex2(b, host)
		b = append(b, " IEEE 802.11: disassociated"...)
	case 13, 14:
		b = append(b, "vigil[1]: GET /status.json 200 "...)
		b = strconv.AppendUint(b, 900+r>>16%200, 10)
		b = append(b, " bytes in "...)
		b = strconv.AppendUint(b, 1+r>>24%40, 10)
		b = append(b, "ms from 192.168.1."...)
		b = strconv.AppendUint(b, host, 10)
	default:
		b = append(b, "ntpd[233]: adjusting local clock by 0.00"...)
		b = zpad(b, r>>16%10000, 4)
		b = append(b, 's')
	}
	n := copy(dst[:LogLineSize-1], b)
	for j := n; j < LogLineSize-1; j++ {
		dst[j] = ' '
	}
	dst[LogLineSize-1] = '\n'
}

// zpad appends v in decimal, zero-padded to width digits.
func zpad(b []byte, v uint64, width int) []byte {
	var d [20]byte
	s := strconv.AppendUint(d[:0], v, 10)
	for range width - len(s) {
		b = append(b, '0')
	}
	return append(b, s...)
}

// hex2 appends the low byte of v as two lowercase hex digits.
func hex2(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	return append(b, digits[v>>4&0xf], digits[v&0xf])
}

// mix is the SplitMix64 finalizer: a fixed, well-spread hash of x.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}

// logInfo returns the FileInfo of a Log of size bytes.
func logInfo(size int64) fileInfo {
	return fileInfo{name: logName, size: size, mode: 0o444, modTime: time.Unix(logStart, 0).UTC()}
}
