//go:build !nocgi

package vigil

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/vigilhttp/vigil/cgi"
)

// cgiBuilt says handler=cgi is available: this build is without -tags
// nocgi.
const cgiBuilt = true

// newCGI returns the CGI host of a handler=cgi rule: programs in
// dir/cgi-bin, mounted at prefix, each run bounded by runTimeout.
func newCGI(dir, prefix string, runTimeout time.Duration, log *slog.Logger) (http.Handler, error) {
	return cgi.New(cgi.Options{Dir: dir, Prefix: prefix, RunTimeout: runTimeout, Logger: log}), nil
}
