// Package cgi runs CGI/1.1 programs (RFC 3875) for vigil, replacing GoAhead's
// cgi handler, with every child bounded by its request.
//
// A program lives in Options.Dir/cgi-bin/NAME and is addressed as
// Prefix/NAME/PATH_INFO. Its environment is built from scratch: the RFC 3875
// variables, request headers as HTTP_* (never Proxy, Authorization only when
// asked, never a name outside [A-Z0-9_]), and Options.Env. Request parameters
// never become variables, and no variable starting with LD_, DYLD_, _RLD or
// LDR_ ever reaches a child (GoAhead CVE-2017-17562, CVE-2021-42342).
//
// Arguments. A child gets no arguments from the request: RFC 3875 §4.4
// allows a query without '=' as argv (GoAhead's ISINDEX), which is how
// "?-d+auto_prepend_file%3d/etc/passwd+-s" reached php-cgi as options
// (CVE-2012-1823); like net/http/cgi, the query reaches the child only as
// QUERY_STRING.
//
// Bounds. Each child runs in its own process group and, where the system
// allows it (as root on Linux), in a PID namespace of its own: when the
// child exits, the kernel kills whatever it left in the namespace, so even a
// grandchild that called setsid (and so left the group) does not outlive
// the request. Without the namespace (not root) such a grandchild can
// outlive it: a Warn line says so once. The group is killed with
// SIGKILL when the run exceeds RunTimeout, when the client goes away (the
// request context ends), when the header block is not complete within
// HeaderTimeout or exceeds MaxHeaderBytes, when output exceeds MaxOutput, and
// in any case when the response is finished (a grandchild left behind in the
// group does not outlive the request). Wait is always called, so no zombie is
// left; exec's WaitDelay bounds Wait if a pipe is held open.
//
// Failures before the header block was forwarded answer 502 and log at Warn.
// Failures after it (run timeout, output cap, client write error) cannot change
// the status any more, so the connection is cut with panic(http.ErrAbortHandler):
// the client sees a truncated response rather than a short one that looks whole.
//
// The request body is streamed to the child's stdin by a goroutine that the
// handler waits for. A child may exit without reading it; if the client then
// stalls mid-body, the handler interrupts the body read through
// http.ResponseController.SetReadDeadline, so the ResponseWriter must reach
// the connection (vigil's wrappers implement Unwrap).
//
// Package cgi imports only the standard library and golang.org/x/sys/unix; it
// must not import other vigil packages. It works on Unix (Linux) only.
package cgi

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Defaults applied by New for zero Options fields.
const (
	DefaultRunTimeout     = 30 * time.Second
	DefaultHeaderTimeout  = 10 * time.Second
	DefaultMaxOutput      = 64 << 20
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultPath is the PATH children get when Options.Env is empty.
	DefaultPath = "PATH=/usr/local/bin:/usr/bin:/bin"
	// waitDelay bounds Wait once the child exited or was cancelled but a
	// descendant still holds one of its pipes.
	waitDelay = 2 * time.Second
	// stderrMax is how much of a child's stderr is kept for the log.
	stderrMax = 4 << 10
	// chunkSize is the largest single write of body bytes to the client.
	chunkSize = 32 << 10
)

// Options configures a Handler. The zero value of every field is usable.
type Options struct {
	// Children bounds the children running at once; nil means a bound of
	// DefaultMaxChildren for this Handler alone. Share one Slots between
	// handlers to bound them together. A request over the bound gets 503
	// with Retry-After at once: one HTTP/2 connection can ask for
	// hundreds of children at a time.
	Children *Slots
	// Dir is the route's directory; programs live in Dir/cgi-bin/NAME
	// (GoAhead's dir= semantics). Zero means the current directory.
	Dir string
	// Prefix is the URL prefix of the route, e.g. "/cgi-bin". NAME is the
	// first path segment after it; the rest is PATH_INFO.
	Prefix string
	// RunTimeout bounds the whole run, from start to the last output byte.
	// Zero means DefaultRunTimeout.
	RunTimeout time.Duration
	// HeaderTimeout bounds the time from start until the child has written
	// its complete header block. Zero means DefaultHeaderTimeout.
	HeaderTimeout time.Duration
	// MaxOutput is the most body bytes, after the header block, forwarded to
	// the client; beyond it the child is killed and the response cut.
	// Zero means DefaultMaxOutput.
	MaxOutput int64
	// MaxHeaderBytes bounds the header block in bytes; beyond it the child is
	// killed and the client gets 502. Zero means DefaultMaxHeaderBytes.
	MaxHeaderBytes int
	// PassAuthorization passes the Authorization header as HTTP_AUTHORIZATION.
	// False (the default) withholds it.
	PassAuthorization bool
	// Env is extra fixed environment ("NAME=value") for every child, after
	// the request variables (which win on a clash). Nil means DefaultPath.
	Env []string
	// Logger receives failures. Nil discards.
	Logger *slog.Logger
}

// Handler is an http.Handler that runs CGI programs. It is safe for
// concurrent use.
type Handler struct {
	opts   Options
	dir    string // absolute Options.Dir
	root   string // dir/cgi-bin
	prefix string // Options.Prefix without a trailing '/'
	env    []string
	log    *slog.Logger
	// noPIDNS is set once starting a child in a PID namespace of its own
	// failed (not root, or no CLONE_NEWPID): children then run in a process
	// group only, and a grandchild that calls setsid can outlive its
	// request.
	noPIDNS atomic.Bool
}

// New returns a Handler for opts with defaults applied.
func New(opts Options) *Handler {
	if opts.Children == nil {
		opts.Children = NewSlots(DefaultMaxChildren)
	}
	if opts.RunTimeout <= 0 {
		opts.RunTimeout = DefaultRunTimeout
	}
	if opts.HeaderTimeout <= 0 {
		opts.HeaderTimeout = DefaultHeaderTimeout
	}
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = DefaultMaxOutput
	}
	if opts.MaxHeaderBytes <= 0 {
		opts.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	h := &Handler{opts: opts, log: opts.Logger, env: opts.Env}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if h.env == nil {
		h.env = []string{DefaultPath}
	}
	dir := opts.Dir
	if dir == "" {
		dir = "."
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	h.dir = dir
	h.root = filepath.Join(dir, "cgi-bin")
	h.prefix = strings.TrimSuffix(opts.Prefix, "/")
	return h
}

// ServeHTTP runs the program named by the request path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.opts.Children.take() {
		h.log.Warn("cgi: children at their bound; 503", "max", cap(h.opts.Children.c), "path", r.URL.Path)
		w.Header().Set("Retry-After", "1")
		http.Error(w, "503 server busy", http.StatusServiceUnavailable)
		return
	}
	defer h.opts.Children.put()
	rest, ok := strings.CutPrefix(r.URL.Path, h.prefix+"/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	name, pathInfo, _ := strings.Cut(rest, "/")
	if pathInfo != "" || strings.HasSuffix(rest, "/") {
		pathInfo = "/" + pathInfo
	}
	prog, err := resolve(h.root, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	if cut := h.run(w, r, prog, h.prefix+"/"+name, pathInfo); cut {
		panic(http.ErrAbortHandler)
	}
}

// run executes prog and reports whether the response must be cut because it
// failed after the header block was sent. All processes, pipes and goroutines
// it started are gone when it returns.
func (h *Handler) run(w http.ResponseWriter, r *http.Request, prog, scriptName, pathInfo string) (cut bool) {
	log := h.log.With("program", scriptName, "method", r.Method, "remote", r.RemoteAddr)
	start := time.Now()
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.RunTimeout)
	defer cancel()

	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		log.Warn("cgi: pipe", "err", err)
		http.Error(w, "502 bad gateway", http.StatusBadGateway)
		return false
	}
	stdoutR, stdoutW, err := os.Pipe()
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		log.Warn("cgi: pipe", "err", err)
		http.Error(w, "502 bad gateway", http.StatusBadGateway)
		return false
	}
	defer stdoutR.Close()

	stderr := &capBuffer{max: stderrMax}
	grp := &group{}
	env := h.buildEnv(r, scriptName, pathInfo)
	newCmd := func(pidns bool) *exec.Cmd {
		// No argument comes from the request: RFC 3875 §4.4's ISINDEX argv
		// is how "?-d+auto_prepend_file%3d..." reached php-cgi as options
		// (CVE-2012-1823); net/http/cgi passes none either.
		cmd := exec.CommandContext(ctx, prog)
		cmd.Dir = filepath.Dir(prog)
		cmd.Env = env
		cmd.Stdin = stdinR
		cmd.Stdout = stdoutW
		cmd.Stderr = stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if pidns {
			// A PID namespace of its own: when the child (its init) exits,
			// the kernel kills every process left in it, one that called
			// setsid (and so left the group) included.
			cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWPID
		}
		cmd.Cancel = func() error {
			grp.setPid(cmd.Process.Pid) // set by Start before it watches ctx
			return grp.kill()
		}
		cmd.WaitDelay = waitDelay
		return cmd
	}
	cmd := newCmd(!h.noPIDNS.Load())
	err = cmd.Start()
	if err != nil && cmd.SysProcAttr.Cloneflags != 0 && (errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EINVAL)) {
		if !h.noPIDNS.Swap(true) {
			h.log.Warn("cgi: cannot start programs in a PID namespace of their own; a grandchild that calls setsid can outlive its request",
				"err", err)
		}
		cmd = newCmd(false)
		err = cmd.Start()
	}
	stdinR.Close()
	stdoutW.Close()
	if err != nil {
		stdinW.Close()
		log.Warn("cgi: start", "err", err)
		http.Error(w, "502 bad gateway", http.StatusBadGateway)
		return false
	}
	pid := cmd.Process.Pid
	grp.setPid(pid)

	// From here on, the deferred cleanup is the only way out: it kills what
	// is left of the group, stops the body copy and reaps the child.
	rc := http.NewResponseController(w)
	copyDone := make(chan struct{})
	defer func() {
		waitExit(pid) // bounded: ctx's Cancel kills the group at the latest
		grp.kill()    // sweep what is left of the group, e.g. grandchildren
		stdinW.SetWriteDeadline(time.Now())
		select {
		case <-copyDone:
		default:
			// The copy is stuck reading the body from the client: interrupt
			// the read, then restore the connection's deadline (the body now
			// has an error, so net/http closes the connection after us).
			rc.SetReadDeadline(time.Now())
			<-copyDone
			rc.SetReadDeadline(time.Time{})
		}
		stdinW.Close()
		grp.reaping() // from here on the pid may be reaped and reused
		werr := cmd.Wait()
		if stderr.Len() > 0 {
			log.Warn("cgi: stderr", "stderr", stderr.String())
		}
		log.Debug("cgi: done", "elapsed", time.Since(start), "wait", werr)
	}()

	// stdin: stream the request body; the child may not read it all.
	_ = rc.EnableFullDuplex()
	go func() {
		defer close(copyDone)
		if r.Body != nil && r.Body != http.NoBody {
			io.Copy(stdinW, r.Body)
		}
		stdinW.Close()
	}()

	// Every read of stdout ends when the context does (run timeout, client gone).
	stopRead := context.AfterFunc(ctx, func() { stdoutR.SetReadDeadline(time.Now()) })
	defer stopRead()

	// Header phase, bounded by HeaderTimeout: the timer kills the group.
	late := false
	timerDone := make(chan struct{})
	hdrTimer := time.AfterFunc(h.opts.HeaderTimeout, func() {
		defer close(timerDone)
		grp.kill()
		stdoutR.SetReadDeadline(time.Now())
	})
	br := bufio.NewReaderSize(stdoutR, 4096)
	hdr, err := readHeader(br, h.opts.MaxHeaderBytes)
	if !hdrTimer.Stop() {
		late = true
		<-timerDone
	}
	if err != nil {
		grp.kill()
		reason := "bad header"
		switch {
		case late:
			reason = "header timeout"
		case ctx.Err() != nil:
			reason = "run ended before header"
		case errors.Is(err, errHeaderTooLarge):
			reason = "header too large"
		}
		log.Warn("cgi: no response", "reason", reason, "elapsed", time.Since(start), "err", err)
		if r.Context().Err() == nil {
			http.Error(w, "502 bad gateway", http.StatusBadGateway)
		}
		return false
	}

	for k, vs := range hdr.header {
		w.Header()[k] = vs
	}
	w.WriteHeader(hdr.status)

	// Body phase: stream with the output cap.
	n, err := copyBody(w, rc, br, h.opts.MaxOutput)
	switch {
	case err == nil && ctx.Err() == nil:
		// The child closed stdout: the response is complete. A child that
		// lives on must not hold it (the cleanup waits for its exit).
		grp.kill()
		return false
	case errors.Is(err, errOutputCap):
		grp.kill()
		log.Warn("cgi: output cap reached; response cut", "bytes", n, "max", h.opts.MaxOutput)
	case ctx.Err() != nil:
		grp.kill()
		if r.Context().Err() != nil {
			log.Debug("cgi: client gone; child killed", "bytes", n, "elapsed", time.Since(start))
		} else {
			log.Warn("cgi: run timeout after header; response cut", "bytes", n, "elapsed", time.Since(start))
		}
	default:
		grp.kill()
		log.Debug("cgi: body copy failed; response cut", "bytes", n, "err", err)
	}
	return true
}

// DefaultMaxChildren is the bound on children running at once when
// Options.Children is nil.
const DefaultMaxChildren = 16

// Slots is a bound on the children running at once, shared by the
// Handlers given it.
type Slots struct{ c chan struct{} }

// NewSlots returns a bound of n children (at least 1).
func NewSlots(n int) *Slots { return &Slots{c: make(chan struct{}, max(1, n))} }

func (s *Slots) take() bool {
	select {
	case s.c <- struct{}{}:
		return true
	default:
		return false
	}
}

func (s *Slots) put() { <-s.c }

// errOutputCap means the child wrote more than MaxOutput body bytes.
var errOutputCap = errors.New("cgi: output cap reached")

// copyBody copies the child's body to w, flushing every chunk, and fails
// with errOutputCap past max bytes. A nil error means the child closed stdout.
func copyBody(w io.Writer, rc *http.ResponseController, src io.Reader, max int64) (int64, error) {
	buf := make([]byte, chunkSize)
	var n int64
	for {
		m, rerr := src.Read(buf)
		if m > 0 {
			if n+int64(m) > max {
				m = int(max - n)
				if m > 0 {
					w.Write(buf[:m])
					n += int64(m)
				}
				return n, errOutputCap
			}
			if _, err := w.Write(buf[:m]); err != nil {
				return n, fmt.Errorf("cgi: write: %w", err)
			}
			n += int64(m)
			if err := rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return n, fmt.Errorf("cgi: flush: %w", err)
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("cgi: read: %w", rerr)
		}
	}
}

// group is the child's process group. Its id is the leader's pid, which
// cannot be reused before the leader is reaped; kill is a no-op from the
// moment reaping starts, so a late kill (exec's Cancel, the header timer)
// can never hit an unrelated group.
type group struct {
	mu     sync.Mutex // guards pid and reaped; held across the kill syscall only
	pid    int
	reaped bool
}

func (g *group) setPid(pid int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.pid = pid
}

// kill sends SIGKILL to every process of the group.
func (g *group) kill() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reaped || g.pid <= 0 {
		return os.ErrProcessDone
	}
	err := syscall.Kill(-g.pid, syscall.SIGKILL)
	if err == syscall.ESRCH {
		return os.ErrProcessDone
	}
	return err
}

// reaping marks the leader as about to be reaped: no kill after this.
func (g *group) reaping() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.reaped = true
}

// waitExit blocks until pid has exited, without reaping it (WNOWAIT), so
// the group can still be swept safely afterwards.
func waitExit(pid int) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err != unix.EINTR {
			return
		}
	}
}

// capBuffer keeps the first max bytes written and discards the rest. Only
// exec's stderr goroutine writes; it is read after Wait.
type capBuffer struct {
	max int
	buf []byte
}

func (b *capBuffer) Write(p []byte) (int, error) {
	if room := b.max - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

func (b *capBuffer) Len() int       { return len(b.buf) }
func (b *capBuffer) String() string { return string(b.buf) }
