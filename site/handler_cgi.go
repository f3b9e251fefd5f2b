//go:build !nocgi

package site

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/vigilhttp/vigil/cgi"
)

// cgiBuilt says handler=cgi is available: this build is without -tags
// nocgi.
const cgiBuilt = true

// cgiBound bounds the CGI children of a whole Site (every handler=cgi
// rule, across reloads) together.
type cgiBound = cgi.Slots

// maxCGIChildren is the bound on a Site's CGI children running at once.
const maxCGIChildren = 32

func newCGIBound() *cgiBound { return cgi.NewSlots(maxCGIChildren) }

// newCGI returns the CGI host of a handler=cgi rule: programs in
// dir/cgi-bin, mounted at prefix, each run bounded by runTimeout, its
// children bounded with the Site's others by bound.
func newCGI(dir, prefix string, runTimeout time.Duration, log *slog.Logger, bound *cgiBound) (http.Handler, error) {
	return cgi.New(cgi.Options{Dir: dir, Prefix: prefix, RunTimeout: runTimeout, Logger: log, Children: bound}), nil
}
