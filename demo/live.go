package demo

import (
	"encoding/json"
	"strings"
	"time"
)

// LiveEvery is how often the demo's live feeds (the WebSocket at /ws/live
// and the event stream at /events/live) send a Sample.
const LiveEvery = time.Second

// Sample is one message of the demo's live feeds: the link state and
// traffic counters of the fictional router's WAN port, and the newest line
// of its system log.
type Sample struct {
	Link    string `json:"link"`     // "up"
	RxBytes int64  `json:"rx_bytes"` // received since boot
	TxBytes int64  `json:"tx_bytes"` // sent since boot
	UptimeS int64  `json:"uptime_s"` // seconds since boot
	// Log is line UptimeS of the generated system log (logs/system.log),
	// trailing spaces trimmed: the dashboard tails it.
	Log string `json:"log"`
}

// Sampler makes the Samples of a device booted at start.
type Sampler struct{ start time.Time }

// NewSampler returns a Sampler for a device booted now.
func NewSampler() *Sampler { return &Sampler{start: time.Now()} }

// Next returns the Sample at now as JSON: counters that grow with the
// uptime (about 1.2 MB/s down and 180 kB/s up), with a ripple so that
// each second's numbers differ, and the log line of that second.
func (s *Sampler) Next(now time.Time) []byte {
	up := now.Sub(s.start)
	ms := up.Milliseconds()
	sec := int64(up / time.Second)
	var line [LogLineSize]byte
	logLine(line[:], sec)
	b, _ := json.Marshal(Sample{
		Link:    "up",
		RxBytes: 1_200*ms + (ms*7919)%65_536,
		TxBytes: 180*ms + (ms*104729)%8_192,
		UptimeS: sec,
		Log:     strings.TrimRight(string(line[:]), " \n"),
	})
	return b
}
