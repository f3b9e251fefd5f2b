//go:build nocgi

package site

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// cgiBuilt says handler=cgi is not available (-tags nocgi).
const cgiBuilt = false

// errNoCGI is what a handler=cgi rule fails to load with in this build.
var errNoCGI = errors.New("cgi: not built in (built with -tags nocgi)")

// newCGI fails: this build has no CGI host (-tags nocgi), so a route table
// with a handler=cgi rule does not load.
func newCGI(dir, prefix string, runTimeout time.Duration, log *slog.Logger, bound *cgiBound) (http.Handler, error) {
	return nil, errNoCGI
}

// cgiBound is nothing in this build.
type cgiBound struct{}

func newCGIBound() *cgiBound { return nil }
