//go:build !nometrics

package status

import (
	"bufio"
	"math"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// durationBuckets are the upper bounds, in seconds, of the buckets of
// vigil_request_duration_seconds.
var durationBuckets = [...]float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// requestMetrics are the metrics the HTTP layer feeds through
// ObserveRequest; the Table's are read at scrape time. They are the
// Server's own: nothing is global.
type requestMetrics struct {
	classes  [6]atomic.Uint64 // by status/100; index 0 counts statuses outside 100..599
	bytesIn  atomic.Uint64
	bytesOut atomic.Uint64

	mu       sync.Mutex
	buckets  [len(durationBuckets)]uint64 // guarded by mu; non-cumulative counts
	count    uint64                       // guarded by mu
	sumInSec float64                      // guarded by mu
}

// metricsBuilt says /metrics is served: this build is without -tags
// nometrics.
const metricsBuilt = true

func newRequestMetrics() *requestMetrics { return new(requestMetrics) }

// ObserveRequest records a completed request: its status code (counted by
// class, "2xx" etc.; a status outside 100..599 counts as "other"), its
// duration and the bytes of its body in and of its response out. The HTTP
// layer calls it once per request; it does not allocate.
func (s *Server) ObserveRequest(status int, d time.Duration, bytesIn, bytesOut int64) {
	m := s.met
	class := status / 100
	if status < 100 || class >= len(m.classes) {
		class = 0
	}
	m.classes[class].Add(1)
	if bytesIn > 0 {
		m.bytesIn.Add(uint64(bytesIn))
	}
	if bytesOut > 0 {
		m.bytesOut.Add(uint64(bytesOut))
	}
	sec := d.Seconds()
	if math.IsNaN(sec) || sec < 0 {
		return
	}
	i := 0
	for i < len(durationBuckets) && sec > durationBuckets[i] {
		i++
	}
	m.mu.Lock()
	m.sumInSec += sec
	m.count++
	if i < len(m.buckets) {
		m.buckets[i]++
	}
	m.mu.Unlock()
}

// serveMetrics writes the Prometheus text exposition: the request metrics
// sorted by name, then those read from the Table (one Snapshot and one
// Stats per scrape).
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	bw := bufio.NewWriter(w)
	s.met.write(bw)
	s.writeTableMetrics(bw)
	bw.Flush()
}

// write writes the request metrics in the order of their names.
func (m *requestMetrics) write(w *bufio.Writer) {
	writeUint(w, `vigil_request_bytes_total{direction="in"}`, m.bytesIn.Load())
	writeUint(w, `vigil_request_bytes_total{direction="out"}`, m.bytesOut.Load())

	m.mu.Lock()
	buckets, count, sum := m.buckets, m.count, m.sumInSec
	m.mu.Unlock()
	var cum uint64
	for i, ub := range durationBuckets {
		cum += buckets[i]
		writeUint(w, `vigil_request_duration_seconds_bucket{le="`+strconv.FormatFloat(ub, 'g', -1, 64)+`"}`, cum)
	}
	writeUint(w, `vigil_request_duration_seconds_bucket{le="+Inf"}`, count)
	if float64(int64(sum)) == sum {
		w.WriteString("vigil_request_duration_seconds_sum " + strconv.FormatInt(int64(sum), 10) + "\n")
	} else {
		writeFloat(w, "vigil_request_duration_seconds_sum", sum)
	}
	writeUint(w, "vigil_request_duration_seconds_count", count)

	for i := 1; i < len(m.classes); i++ {
		writeUint(w, `vigil_requests_total{class="`+strconv.Itoa(i)+`xx"}`, m.classes[i].Load())
	}
	writeUint(w, `vigil_requests_total{class="other"}`, m.classes[0].Load())
}

// socketKinds are the kind labels of the socket metrics, in the order of
// the Stats' WebSockets and Streams.
var socketKinds = [2]string{"websocket", "stream"}

// writeTableMetrics writes the metrics read from the Table at scrape time:
// one Snapshot and one Stats per scrape. The socket metrics, by kind
// (websocket, stream): vigil_sockets open now, vigil_sockets_opened_total,
// vigil_sockets_closed_total by the cause their connection closed for
// (cause="closed" for an event stream that ended on a connection that
// went on), and vigil_socket_messages in and out: a gauge, the messages
// of the sockets open now (the Table keeps them per socket, not in total).
func (s *Server) writeTableMetrics(w *bufio.Writer) {
	var byPhase [governor.PhaseClosed]uint64
	var msgs [2][2]int64 // [websocket, stream][in, out] on the sockets open now
	var st governor.Stats
	if t := s.opts.Table; t != nil {
		for _, c := range t.Snapshot() {
			if c.Phase < governor.PhaseClosed {
				byPhase[c.Phase]++
			}
			if si := c.Socket; si != nil {
				k := 0
				if si.Kind != "websocket" {
					k = 1
				}
				msgs[k][0] += si.MessagesIn
				msgs[k][1] += si.MessagesOut
			}
		}
		st = t.Stats()
	}
	for _, p := range phases() {
		writeUint(w, `vigil_connections{phase="`+p.String()+`"}`, byPhase[p])
	}
	for _, c := range governor.Causes() {
		writeUint(w, `vigil_connections_closed_total{cause="`+c.String()+`"}`, st.Closed[c])
	}
	for _, c := range []governor.Cause{governor.CauseStall, governor.CauseMinRate, governor.CauseTransferTimeout, governor.CauseHandlerTimeout} {
		writeUint(w, `vigil_streams_reset_total{cause="`+c.String()+`"}`, st.Resets[c])
	}
	for k, ss := range [2]governor.SocketStats{st.WebSockets, st.Streams} {
		kind := socketKinds[k]
		writeUint(w, `vigil_sockets{kind="`+kind+`"}`, uint64(max(ss.Open, 0)))
		writeUint(w, `vigil_sockets_opened_total{kind="`+kind+`"}`, ss.Opened)
		for _, c := range governor.Causes() {
			writeUint(w, `vigil_sockets_closed_total{kind="`+kind+`",cause="`+c.String()+`"}`, ss.Closed[c])
		}
		writeUint(w, `vigil_socket_messages{kind="`+kind+`",direction="in"}`, uint64(msgs[k][0]))
		writeUint(w, `vigil_socket_messages{kind="`+kind+`",direction="out"}`, uint64(msgs[k][1]))
	}
	writeUint(w, "vigil_connections_accepted_total", st.Accepted)
	writeUint(w, "vigil_connections_refused_total", st.Refused)
	writeUint(w, "vigil_connections_evicted_total", st.Closed[governor.CauseEvicted])
	writeFloat(w, "vigil_uptime_seconds", time.Since(s.started).Seconds())
}

// writeUint writes a sample line with an integer value.
func writeUint(w *bufio.Writer, name string, v uint64) {
	w.WriteString(name)
	w.WriteByte(' ')
	w.Write(strconv.AppendUint(w.AvailableBuffer(), v, 10))
	w.WriteByte('\n')
}

// writeFloat writes a sample line with a float value, formatted as %g.
func writeFloat(w *bufio.Writer, name string, v float64) {
	w.WriteString(name)
	w.WriteByte(' ')
	w.Write(strconv.AppendFloat(w.AvailableBuffer(), v, 'g', -1, 64))
	w.WriteByte('\n')
}
