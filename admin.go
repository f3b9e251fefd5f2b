package vigil

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/route"
	"github.com/vigilhttp/vigil/status"
)

// DefaultAdmin returns the default admin endpoint: a unix socket in the run
// directory ($VIGIL_RUN_DIR, else /run/vigil for root, else
// $XDG_RUNTIME_DIR/vigil, else a per-user directory under the temporary
// directory).
func DefaultAdmin() string {
	dir := os.Getenv("VIGIL_RUN_DIR")
	switch {
	case dir != "":
	case os.Geteuid() == 0:
		dir = "/run/vigil"
	case os.Getenv("XDG_RUNTIME_DIR") != "":
		dir = filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "vigil")
	default:
		dir = filepath.Join(os.TempDir(), "vigil-"+strconv.Itoa(os.Getuid()))
	}
	return "unix:" + filepath.Join(dir, "admin.sock")
}

// adminLimits bound the admin endpoint's own connections: it is governed
// like the public listeners, by a table of its own.
const adminMaxConns = 16

// listenAdmin opens the admin endpoint addr: "unix:PATH" or "host:port". A
// unix socket's directory is created 0700 and the socket made 0600; a stale
// socket file (nobody answering) is replaced.
func listenAdmin(addr string) (net.Listener, error) {
	path, ok := strings.CutPrefix(addr, "unix:")
	if !ok {
		return net.Listen("tcp", addr)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if _, err := os.Stat(path); err == nil {
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, fmt.Errorf("%s: another server answers there: stop it, or give this one another --admin (unix:PATH or host:port) or --admin off", path)
		}
		if !errors.Is(err, syscall.ECONNREFUSED) && !errors.Is(err, syscall.ENOENT) {
			return nil, err
		}
		os.Remove(path)
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, err
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// newAdmin builds the admin HTTP server: the status package's page, JSON API,
// metrics and pprof, on a governed listener of its own.
func (s *Server) newAdmin() *httpd.Server {
	return httpd.New(httpd.Options{
		Handler: s.status,
		Governor: governor.NewTable(governor.Options{
			MaxConns:      adminMaxConns,
			MaxConnsPerIP: -1,
			Logger:        s.log,
		}),
		// The event stream of the status page is long-lived and bounded by
		// the status package itself.
		Default: route.Policy{HandlerTimeout: -1},
		Logger:  s.log,
	})
}

// handlers adapts the HTTP layer's in-flight report to the status package's.
func (s *Server) handlers() []status.Handler {
	fl := s.http.Flights()
	out := make([]status.Handler, len(fl))
	for i, f := range fl {
		out[i] = status.Handler{ConnID: f.ConnID, Request: f.Request, Route: f.Route,
			Start: f.Start, Deadline: f.Deadline, Overdue: f.Overdue, Stack: f.Stack}
	}
	return out
}

// LogTable writes the live connection table to the log, one line per
// connection (on SIGUSR1).
func (s *Server) LogTable() {
	rows := s.gov.Snapshot()
	s.log.Info("vigil: connection table", "open", len(rows))
	for _, c := range rows {
		attrs := []any{"conn_id", c.ID, "remote", c.Remote, "phase", c.Phase.String(),
			"request", c.Request, "bytes_in", c.BytesIn, "bytes_out", c.BytesOut,
			"age", c.Age.Round(time.Millisecond), "since_progress", c.SinceProgress.Round(time.Millisecond),
			"explain", status.Explain(c)}
		s.log.Info("vigil: conn", attrs...)
	}
}
