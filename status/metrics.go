package status

import (
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/vigilhttp/vigil/governor"
)

// durationBuckets are the upper bounds, in seconds, of the buckets of
// vigil_request_duration_seconds.
var durationBuckets = []float64{.001, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// requestMetrics are the metrics the HTTP layer feeds through
// ObserveRequest, plus the scrape-time view of the Table. The set is the
// Server's own: nothing is registered in the metrics package's default set.
type requestMetrics struct {
	set      *metrics.Set
	classes  [6]*metrics.Counter // by status/100; index 0 counts statuses outside 100..599
	bytesIn  *metrics.Counter
	bytesOut *metrics.Counter
	duration *metrics.PrometheusHistogram
}

func newRequestMetrics(set *metrics.Set, s *Server) *requestMetrics {
	m := &requestMetrics{set: set}
	for i := range m.classes {
		class := "other"
		if i > 0 {
			class = fmt.Sprintf("%dxx", i)
		}
		m.classes[i] = set.NewCounter(`vigil_requests_total{class="` + class + `"}`)
	}
	m.bytesIn = set.NewCounter(`vigil_request_bytes_total{direction="in"}`)
	m.bytesOut = set.NewCounter(`vigil_request_bytes_total{direction="out"}`)
	m.duration = set.NewPrometheusHistogramExt("vigil_request_duration_seconds", durationBuckets)
	set.RegisterMetricsWriter(s.writeTableMetrics)
	return m
}

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
	m.classes[class].Inc()
	if bytesIn > 0 {
		m.bytesIn.AddInt64(bytesIn)
	}
	if bytesOut > 0 {
		m.bytesOut.AddInt64(bytesOut)
	}
	m.duration.Update(d.Seconds())
}

// writeTableMetrics writes the metrics read from the Table at scrape time:
// one Snapshot and one Stats per scrape.
func (s *Server) writeTableMetrics(w io.Writer) {
	var byPhase [governor.PhaseClosed]uint64
	var st governor.Stats
	if t := s.opts.Table; t != nil {
		for _, c := range t.Snapshot() {
			if c.Phase < governor.PhaseClosed {
				byPhase[c.Phase]++
			}
		}
		st = t.Stats()
	}
	for _, p := range phases() {
		metrics.WriteGaugeUint64(w, `vigil_connections{phase="`+p.String()+`"}`, byPhase[p])
	}
	for _, c := range governor.Causes() {
		metrics.WriteCounterUint64(w, `vigil_connections_closed_total{cause="`+c.String()+`"}`, st.Closed[c])
	}
	metrics.WriteCounterUint64(w, "vigil_connections_accepted_total", st.Accepted)
	metrics.WriteCounterUint64(w, "vigil_connections_refused_total", st.Refused)
	metrics.WriteCounterUint64(w, "vigil_connections_evicted_total", st.Closed[governor.CauseEvicted])
	metrics.WriteGaugeFloat64(w, "vigil_uptime_seconds", time.Since(s.started).Seconds())
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	s.met.set.WritePrometheus(w)
}
