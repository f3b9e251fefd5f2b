package demo

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"regexp"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// readAll reads l from its current offset to the end in chunks of n bytes.
func readAll(t *testing.T, l *Log, n int) []byte {
	t.Helper()
	var out bytes.Buffer
	buf := make([]byte, n)
	for {
		k, err := l.Read(buf)
		out.Write(buf[:k])
		if err == io.EOF {
			return out.Bytes()
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestNewLogSize(t *testing.T) {
	tests := []struct {
		name string
		size int64
		want int64
	}{
		{"a negative size is empty", -5, 0},
		{"zero is empty", 0, 0},
		{"less than a line is empty", LogLineSize - 1, 0},
		{"one line is kept", LogLineSize, LogLineSize},
		{"a partial line is dropped", 1000, 7 * LogLineSize},
		{"LogSize is whole lines", LogSize, LogSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLog(tt.size)
			fi, err := l.Stat()
			if err != nil {
				t.Fatal(err)
			}
			if l.Size() != tt.want || fi.Size() != tt.want {
				t.Errorf("Size = %d, Stat size = %d, want %d", l.Size(), fi.Size(), tt.want)
			}
		})
	}
}

func TestLogStat(t *testing.T) {
	fi, err := NewLog(LogSize).Stat()
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	if fi.Name() != "system.log" || fi.IsDir() || fi.Mode() != 0o444 || !fi.ModTime().Equal(want) {
		t.Errorf("Stat = %s %v %v %v, want system.log, a 0444 file modified at %v", fi.Name(), fi.IsDir(), fi.Mode(), fi.ModTime(), want)
	}
}

func TestLogLines(t *testing.T) {
	const lines = 20000
	data := readAll(t, NewLog(lines*LogLineSize), 4096)
	if len(data) != lines*LogLineSize {
		t.Fatalf("read %d bytes, want %d", len(data), lines*LogLineSize)
	}
	start := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	shape := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ vigil-demo [a-z-]+(\[\d+\])?: \S.*\S *\n$`)
	for i := range lines {
		line := data[i*LogLineSize : (i+1)*LogLineSize]
		if !shape.Match(line) {
			t.Fatalf("line %d = %q: wrong shape", i, line)
		}
		if bytes.IndexByte(line, '\n') != LogLineSize-1 {
			t.Fatalf("line %d = %q: a newline inside", i, line)
		}
		if line[LogLineSize-2] != ' ' {
			t.Fatalf("line %d = %q: truncated (no padding left)", i, line)
		}
		if ts := start.Add(time.Duration(i) * time.Second).Format(time.RFC3339); !bytes.HasPrefix(line, []byte(ts)) {
			t.Fatalf("line %d = %q, want timestamp %s", i, line, ts)
		}
	}
	t.Run("the first line is a kernel line", func(t *testing.T) {
		want := "2026-11-25T00:00:00Z vigil-demo "
		if !bytes.HasPrefix(data, []byte(want)) {
			t.Errorf("first line %q", data[:LogLineSize])
		}
	})
	t.Run("every message kind appears", func(t *testing.T) {
		for _, kind := range []string{"kernel: [", "nf_conntrack", "DHCPACK", "query[A]", "associated", "disassociated", "GET /status.json", "ntpd"} {
			if !bytes.Contains(data, []byte(kind)) {
				t.Errorf("no %q line in %d lines", kind, lines)
			}
		}
	})
	t.Run("the content is deterministic", func(t *testing.T) {
		again := readAll(t, NewLog(lines*LogLineSize), 777)
		if !bytes.Equal(data, again) {
			t.Error("two Logs of the same size differ")
		}
	})
	t.Run("the last line of the full log is dated by its number", func(t *testing.T) {
		l := NewLog(LogSize)
		line := make([]byte, LogLineSize)
		if _, err := l.ReadAt(line, LogSize-LogLineSize); err != nil {
			t.Fatal(err)
		}
		ts := start.Add((LogSize/LogLineSize - 1) * time.Second).Format(time.RFC3339)
		if !bytes.HasPrefix(line, []byte(ts)) || !shape.Match(line) {
			t.Errorf("last line %q, want timestamp %s", line, ts)
		}
	})
}

func TestLogReadAtMatchesSequentialRead(t *testing.T) {
	const size = 1<<20 + 5*LogLineSize
	whole := readAll(t, NewLog(size), 1000)
	l := NewLog(size)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		off := rng.Int64N(size)
		n := rng.IntN(3*LogLineSize + 1)
		if i%10 == 0 {
			n = rng.IntN(64 << 10)
		}
		p := make([]byte, n)
		got, err := l.ReadAt(p, off)
		want := whole[off:min(off+int64(n), size)]
		if got != len(want) || !bytes.Equal(p[:got], want) {
			t.Fatalf("ReadAt(%d bytes, %d) = %d bytes, differs from the sequential read", n, off, got)
		}
		switch {
		case got < n && err != io.EOF:
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v; want io.EOF", n, off, got, err)
		case got == n && err != nil && !(err == io.EOF && off+int64(n) == size):
			t.Fatalf("ReadAt(%d bytes, %d) = %d, %v", n, off, got, err)
		}
	}
}

func TestLogReadAtEdges(t *testing.T) {
	const size = 10 * LogLineSize
	l := NewLog(size)
	tests := []struct {
		name    string
		n       int
		off     int64
		wantN   int
		wantErr error
	}{
		{"a read inside the log is whole", 100, 50, 100, nil},
		{"a read up to the end is whole", 28, size - 28, 28, nil},
		{"a read across the end is short with EOF", 100, size - 28, 28, io.EOF},
		{"a read at the end is EOF", 1, size, 0, io.EOF},
		{"a read past the end is EOF", 1, size + 1000, 0, io.EOF},
		{"an empty read inside is nothing", 0, 5, 0, nil},
		{"a negative offset is invalid", 1, -1, 0, fs.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := l.ReadAt(make([]byte, tt.n), tt.off)
			if n != tt.wantN || !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("ReadAt(%d bytes, %d) = %d, %v; want %d, %v", tt.n, tt.off, n, err, tt.wantN, tt.wantErr)
			}
		})
	}
}

func TestLogSeek(t *testing.T) {
	const size = 10 * LogLineSize
	whole := readAll(t, NewLog(size), 64)
	type step struct {
		offset  int64
		whence  int
		want    int64 // the offset after the step, error or not
		wantErr bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"SeekStart sets the offset", []step{{300, io.SeekStart, 300, false}}},
		{"SeekCurrent moves forward", []step{{300, io.SeekStart, 300, false}, {28, io.SeekCurrent, 328, false}}},
		{"SeekCurrent moves back", []step{{300, io.SeekStart, 300, false}, {-172, io.SeekCurrent, 128, false}}},
		{"SeekEnd counts from the end", []step{{-LogLineSize, io.SeekEnd, size - LogLineSize, false}}},
		{"SeekEnd zero is the size", []step{{0, io.SeekEnd, size, false}}},
		{"past the end is allowed", []step{{10, io.SeekEnd, size + 10, false}}},
		{"a negative SeekStart fails and keeps the offset", []step{{5, io.SeekStart, 5, false}, {-1, io.SeekStart, 5, true}}},
		{"a SeekCurrent before the start fails", []step{{5, io.SeekStart, 5, false}, {-6, io.SeekCurrent, 5, true}}},
		{"a SeekEnd before the start fails", []step{{-size - 1, io.SeekEnd, 0, true}}},
		{"an unknown whence fails", []step{{7, io.SeekStart, 7, false}, {0, 3, 7, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := NewLog(size)
			for _, s := range tt.steps {
				got, err := l.Seek(s.offset, s.whence)
				if (err != nil) != s.wantErr {
					t.Fatalf("Seek(%d, %d) error = %v, want error %v", s.offset, s.whence, err, s.wantErr)
				}
				if err != nil && !errors.Is(err, fs.ErrInvalid) {
					t.Errorf("Seek error %v is not fs.ErrInvalid", err)
				}
				if err == nil && got != s.want {
					t.Fatalf("Seek(%d, %d) = %d, want %d", s.offset, s.whence, got, s.want)
				}
			}
			last := tt.steps[len(tt.steps)-1].want
			rest := readAll(t, l, 50)
			if want := whole[min(last, size):]; !bytes.Equal(rest, want) {
				t.Errorf("after seeking, read %d bytes, want the %d from offset %d", len(rest), len(want), last)
			}
		})
	}
}

func TestLogTestReader(t *testing.T) {
	// iotest.TestReader checks small reads, Seek and ReadAt against content.
	const size = 200 * LogLineSize
	whole := readAll(t, NewLog(size), 4096)
	if err := iotest.TestReader(NewLog(size), whole); err != nil {
		t.Fatal(err)
	}
}

func TestLogClosed(t *testing.T) {
	l := NewLog(10 * LogLineSize)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		call func() error
	}{
		{"Read fails", func() error { _, err := l.Read(make([]byte, 1)); return err }},
		{"ReadAt fails", func() error { _, err := l.ReadAt(make([]byte, 1), 0); return err }},
		{"Seek fails", func() error { _, err := l.Seek(0, io.SeekStart); return err }},
		{"Stat fails", func() error { _, err := l.Stat(); return err }},
		{"a second Close fails", l.Close},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.call(); !errors.Is(err, fs.ErrClosed) {
				t.Errorf("error = %v, want fs.ErrClosed", err)
			}
		})
	}
}

func TestLogReadAtIsCheap(t *testing.T) {
	l := NewLog(LogSize)
	p := make([]byte, 32<<10)
	rng := rand.New(rand.NewPCG(3, 4))
	allocs := testing.AllocsPerRun(50, func() {
		if _, err := l.ReadAt(p, rng.Int64N(LogSize-int64(len(p)))); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("ReadAt allocates %.1f times per call, want 0", allocs)
	}
}

func TestLogConcurrentReadAt(t *testing.T) {
	const size = 1 << 16
	whole := readAll(t, NewLog(size), 4096)
	l := NewLog(size)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			p := make([]byte, 300)
			for i := range 200 {
				off := int64((g*7919 + i*131) % (size - len(p)))
				if _, err := l.ReadAt(p, off); err != nil || !bytes.Equal(p, whole[off:off+int64(len(p))]) {
					errs <- fmt.Errorf("ReadAt(%d) = %v or wrong bytes", off, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func BenchmarkLogRead(b *testing.B) {
	l := NewLog(LogSize)
	p := make([]byte, 64<<10)
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := l.Read(p); err == io.EOF {
			l.Seek(0, io.SeekStart)
		}
	}
}
