package demo

import (
	"encoding/json"
	"io"
	"strings"
	"testing"
	"time"
)

func TestSampler(t *testing.T) {
	s := NewSampler()
	var prev Sample
	for i, at := range []time.Duration{0, 1500 * time.Millisecond, 3 * time.Second} {
		var m Sample
		if err := json.Unmarshal(s.Next(s.start.Add(at)), &m); err != nil {
			t.Fatal(err)
		}
		if m.Link != "up" || m.UptimeS != int64(at/time.Second) {
			t.Errorf("at %v: link %q uptime %d", at, m.Link, m.UptimeS)
		}
		if i > 0 && (m.RxBytes <= prev.RxBytes || m.TxBytes <= prev.TxBytes) {
			t.Errorf("at %v: rx %d tx %d after rx %d tx %d: the counters must grow", at, m.RxBytes, m.TxBytes, prev.RxBytes, prev.TxBytes)
		}
		// The log line is the generated log's line of that second, as
		// logs/system.log serves it.
		l := NewLog(LogSize)
		line := make([]byte, LogLineSize)
		if _, err := l.ReadAt(line, m.UptimeS*LogLineSize); err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if want := strings.TrimRight(string(line), " \n"); m.Log != want || want == "" {
			t.Errorf("at %v: log %q, want %q", at, m.Log, want)
		}
		prev = m
	}
}
