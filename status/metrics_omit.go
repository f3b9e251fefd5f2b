//go:build nometrics

package status

import (
	"net/http"
	"time"
)

// requestMetrics is empty: this build has no metrics (-tags nometrics).
type requestMetrics struct{}

// metricsBuilt says /metrics is not served (-tags nometrics).
const metricsBuilt = false

func newRequestMetrics() *requestMetrics { return nil }

// ObserveRequest does nothing: this build has no metrics (-tags
// nometrics).
func (s *Server) ObserveRequest(status int, d time.Duration, bytesIn, bytesOut int64) {}

// serveMetrics answers 404: this build has no metrics.
func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request) {
	writeError(w, http.StatusNotFound, "metrics: not built in (built with -tags nometrics)")
}
