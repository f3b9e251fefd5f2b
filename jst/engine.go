package jst

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults for the zero fields of Limits.
const (
	// DefaultMaxPage is the largest page file, in bytes: 1 MiB.
	DefaultMaxPage = 1 << 20
	// DefaultMaxOutput is the most bytes a render may produce: 4 MiB.
	DefaultMaxOutput = 4 << 20
	// DefaultMaxValue is the largest string value, in bytes: 1 MiB.
	DefaultMaxValue = 1 << 20
	// DefaultMaxSteps is the step budget of one render: 1,000,000.
	DefaultMaxSteps = 1_000_000
	// DefaultMaxDepth is the deepest nesting of a block: 100, js.c's
	// JS_MAX_RECURSE.
	DefaultMaxDepth = 100
)

// maxPooled is the largest buffer capacity, in bytes, returned to the pool;
// a rare huge page should not pin its buffer forever.
const maxPooled = 256 << 10

// Limits bound what one page may cost. Every field's zero means its
// Default constant; a negative field is an error.
type Limits struct {
	// MaxPage is the largest page file in bytes; a larger page answers
	// 500 and is not parsed.
	MaxPage int64
	// MaxOutput is the most bytes one render may produce; a page that
	// would write more answers 500 and sends nothing of itself.
	MaxOutput int
	// MaxValue is the largest string value, in bytes, a page may build
	// (by +, escape() or a bound function's result).
	MaxValue int
	// MaxSteps is the step budget of one render: every statement, every
	// operand, every loop turn is a step, and every 64 bytes a page
	// concatenates or writes is one more. A page that uses it up (a for
	// loop that does not end) answers 500. It bounds a render's CPU time
	// and, with MaxValue, its memory.
	MaxSteps int
	// MaxDepth is the deepest nesting (parentheses, blocks, if/else
	// chains, unary operators) a block may have; deeper is a syntax error.
	MaxDepth int
}

// Mode is how a page renders; a route may set it per request (Serve).
type Mode struct {
	// EscapeHTML HTML-escapes every value that comes from Go or the
	// request: what a bound function writes, and, when write() writes
	// them, a bound function's results and request variables, also as
	// parts of strings built with + (route key escape=html). Literals of
	// the page itself stay raw. Without it, everything is raw, as in
	// GoAhead.
	EscapeHTML bool
	// InlineErrors answers a page's script error as GoAhead does: 200,
	// the output so far, then "<h2><b>Javascript Error: …</b></h2>"
	// with the block's source, and nothing of the page after the block.
	// Without it, a script error answers 500 with a generic body. The
	// error is logged either way.
	InlineErrors bool
}

// Options configures an Engine.
type Options struct {
	// Root holds the pages, e.g. os.DirFS(dir) or an embed.FS. Required.
	Root fs.FS
	// Logger receives render errors; nil discards them.
	Logger *slog.Logger
	// Limits bound each page.
	Limits Limits
	// Mode is how ServeHTTP renders; Serve takes one per request.
	Mode Mode
	// NoRequestVars leaves the request's query and form fields out of a
	// page's variables. By default they are there, as GoAhead puts them
	// there (a field given twice joins its values with a space).
	NoRequestVars bool
}

// Func is a Go function a page calls by name, bound with Engine.Define: it
// is GoAhead's websDefineJst procedure. It writes to the page through c,
// may give the call a value with c.Return, and returns an error to fail the
// render (the page answers 500 and the log says "file:line: name: err").
//
// A Func takes a *Call rather than (w, r, args) so that the one argument
// carries the request, the arguments, a writer that applies the page's
// escaping and output bound, and the call's result, and can grow without
// breaking every bound function.
type Func func(c *Call) error

// Call is one call of a bound function from a page. It is valid only until
// the Func returns.
type Call struct {
	// Request is the request the page answers; its Context ends with it.
	Request *http.Request
	// Name is the name the page called.
	Name string
	// Args are the call's arguments, each a string as in GoAhead.
	Args []string

	run    *run
	result string
}

// errCallDone is what a Call's writes fail with after its Func returned.
var errCallDone = errors.New("jst: Call used after its function returned")

// Write writes p to the page, HTML-escaped when the page renders with
// Mode.EscapeHTML. It fails once the page's output would exceed
// Limits.MaxOutput; the render then fails too.
func (c *Call) Write(p []byte) (int, error) {
	if _, err := c.WriteString(string(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// WriteString writes s like Write.
func (c *Call) WriteString(s string) (int, error) {
	if c.run == nil {
		return 0, errCallDone
	}
	var err error
	if c.run.escape {
		err = c.run.out.writeEscaped(s)
	} else {
		err = c.run.out.write(s)
	}
	if err != nil {
		return 0, err
	}
	return len(s), nil
}

// WriteRaw writes s unescaped even under Mode.EscapeHTML: for markup the
// function builds itself (an <option> list), never for data.
func (c *Call) WriteRaw(s string) error {
	if c.run == nil {
		return errCallDone
	}
	return c.run.out.write(s)
}

// Return sets the call's value in the page (GoAhead's jsSetResult); a
// call that does not Return has the value "".
func (c *Call) Return(v string) { c.result = v }

// Arg returns argument i, or "" if the call has fewer.
func (c *Call) Arg(i int) string {
	if i < 0 || i >= len(c.Args) {
		return ""
	}
	return c.Args[i]
}

// Context returns the request's context.
func (c *Call) Context() context.Context { return c.Request.Context() }

// Engine renders GoAhead JST/ASP pages from an fs.FS. It is safe for
// concurrent use.
type Engine struct {
	opts Options
	log  *slog.Logger
	bufs sync.Pool // of *bytes.Buffer

	mu    sync.RWMutex
	funcs map[string]Func   // guarded by mu
	cache map[string]*entry // guarded by mu
}

// entry is a cached parse of one page file, valid while the file's
// modification time and size are those it was parsed at.
type entry struct {
	mod  time.Time
	size int64
	pg   *page
	err  error // an unterminated block: the page cannot render
}

// New returns an Engine for opts. It reads no page: pages are parsed on
// their first request.
func New(opts Options) (*Engine, error) {
	if opts.Root == nil {
		return nil, errors.New("jst: Options.Root is nil")
	}
	l := &opts.Limits
	for _, f := range []struct {
		name string
		v    int64
	}{{"MaxPage", l.MaxPage}, {"MaxOutput", int64(l.MaxOutput)}, {"MaxValue", int64(l.MaxValue)},
		{"MaxSteps", int64(l.MaxSteps)}, {"MaxDepth", int64(l.MaxDepth)}} {
		if f.v < 0 {
			return nil, fmt.Errorf("jst: Limits.%s %d is negative", f.name, f.v)
		}
	}
	if l.MaxPage == 0 {
		l.MaxPage = DefaultMaxPage
	}
	if l.MaxOutput == 0 {
		l.MaxOutput = DefaultMaxOutput
	}
	if l.MaxValue == 0 {
		l.MaxValue = DefaultMaxValue
	}
	if l.MaxSteps == 0 {
		l.MaxSteps = DefaultMaxSteps
	}
	if l.MaxDepth == 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	e := &Engine{opts: opts, log: opts.Logger, funcs: map[string]Func{}, cache: map[string]*entry{}}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	e.bufs.New = func() any { return new(bytes.Buffer) }
	return e, nil
}

// Define binds name to fn for every page (GoAhead's websDefineJst); a nil
// fn removes the binding. A name bound here hides the built-in of that
// name (write, writeEscaped, escape). Define panics if name is not a
// JavaScript identifier ([A-Za-z_$][A-Za-z0-9_$]*), which no page could
// call.
func (e *Engine) Define(name string, fn Func) {
	if !validName(name) {
		panic("jst: Define: " + strconv.Quote(name) + " is not an identifier")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if fn == nil {
		delete(e.funcs, name)
		return
	}
	e.funcs[name] = fn
}

func validName(s string) bool {
	if s == "" || !isIdentStart(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if !isIdentStart(s[i]) && !isDigit(s[i]) {
			return false
		}
	}
	return true
}

func (e *Engine) lookup(name string) Func {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.funcs[name]
}

// Reset drops every parsed page, so the next request of each re-reads its
// file (SIGHUP). Renders in flight finish with the parse they started with.
func (e *Engine) Reset() {
	e.mu.Lock()
	defer e.mu.Unlock()
	clear(e.cache)
}

// ServeHTTP renders the page the request path names in Options.Root, with
// Options.Mode. A path with an element starting with "." answers 404.
func (e *Engine) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	for _, el := range strings.Split(p, "/") {
		if strings.HasPrefix(el, ".") {
			http.NotFound(w, r)
			return
		}
	}
	e.Serve(w, r, strings.TrimPrefix(path.Clean("/"+p), "/"), e.opts.Mode)
}

// Serve renders the page name (a slash path in Options.Root, as fs.FS
// names it: "net/lan.asp") with mode m. A router that has cleaned and
// matched the path calls it directly. The page is rendered into a buffer
// bounded by Limits.MaxOutput and sent in one Write with Content-Length,
// Content-Type text/html (no charset: the page's own <meta> says it, as
// firmware pages in GB2312 or Big5 need) and GoAhead's no-cache headers.
// A page that does not exist or is a directory answers 404; a script
// error, a limit reached or an unreadable page answers 500 (or, for a
// script error under m.InlineErrors, GoAhead's inline text) and is logged.
func (e *Engine) Serve(w http.ResponseWriter, r *http.Request, name string, m Mode) {
	pg, status, err := e.page(name)
	if err != nil {
		if status == http.StatusNotFound {
			http.NotFound(w, r)
			return
		}
		e.log.Error("jst: page failed", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	buf := e.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooled {
			e.bufs.Put(buf)
		}
	}()
	out := &output{buf: buf, max: e.opts.Limits.MaxOutput}
	if err := e.render(out, r, pg, m); err != nil {
		e.log.Error("jst: render failed", "page", name, "path", r.URL.Path, "err", err)
		var serr *scriptError
		if !m.InlineErrors || !errors.As(err, &serr) || !inline(out, serr) {
			http.Error(w, "500 internal server error", http.StatusInternalServerError)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", "text/html")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	h.Set("Pragma", "no-cache")
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(buf.Bytes()); err != nil {
		e.log.Debug("jst: write failed", "page", name, "path", r.URL.Path, "err", err)
	}
}

// scriptError is a render's error in a block, with the block for GoAhead's
// inline error text.
type scriptError struct {
	err *Error
	blk *block
}

func (s *scriptError) Error() string { return s.err.Error() }

func (s *scriptError) Unwrap() error { return s.err }

// inline appends GoAhead's "Javascript Error" text to out; false if even
// that does not fit, or the error is a limit (those are always a 500).
func inline(out *output, s *scriptError) bool {
	if errors.Is(s.err, ErrOutputTooLarge) || errors.Is(s.err, ErrSteps) || errors.Is(s.err, ErrValueTooLarge) {
		return false
	}
	out.err = nil
	out.write("<h2><b>Javascript Error: ")
	out.writeEscaped(s.err.Msg + "\n At line " + strconv.Itoa(s.err.Line))
	out.write("</b></h2>\n<pre>")
	out.writeEscaped(s.blk.src)
	out.write("</pre></body></html>\n")
	return out.err == nil
}

// page returns the parsed page name, from the cache while the file's
// modification time and size are unchanged.
func (e *Engine) page(name string) (*page, int, error) {
	if !fs.ValidPath(name) || name == "." {
		return nil, http.StatusNotFound, fs.ErrNotExist
	}
	fi, err := fs.Stat(e.opts.Root, name)
	if err != nil {
		e.forget(name)
		if errors.Is(err, fs.ErrNotExist) {
			return nil, http.StatusNotFound, err
		}
		return nil, http.StatusInternalServerError, fmt.Errorf("jst: %w", err)
	}
	if fi.IsDir() {
		return nil, http.StatusNotFound, fs.ErrNotExist
	}
	e.mu.RLock()
	ent := e.cache[name]
	e.mu.RUnlock()
	if ent == nil || !ent.mod.Equal(fi.ModTime()) || ent.size != fi.Size() {
		ent = &entry{mod: fi.ModTime(), size: fi.Size()}
		ent.pg, ent.err = e.parse(name, fi.Size())
		e.mu.Lock()
		e.cache[name] = ent
		e.mu.Unlock()
	}
	if ent.err != nil {
		return nil, http.StatusInternalServerError, ent.err
	}
	return ent.pg, http.StatusOK, nil
}

func (e *Engine) forget(name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.cache, name)
}

func (e *Engine) parse(name string, size int64) (*page, error) {
	max := e.opts.Limits.MaxPage
	if size > max {
		return nil, fmt.Errorf("jst: %s: page of %d bytes exceeds Limits.MaxPage (%d)", name, size, max)
	}
	f, err := e.opts.Root.Open(name)
	if err != nil {
		return nil, fmt.Errorf("jst: %w", err)
	}
	defer f.Close()
	src, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, fmt.Errorf("jst: %s: %w", name, err)
	}
	if int64(len(src)) > max {
		return nil, fmt.Errorf("jst: %s: page exceeds Limits.MaxPage (%d)", name, max)
	}
	return parsePage(name, string(src), e.opts.Limits.MaxDepth)
}

// render runs pg into out: text as it is, each block's statements in
// turn, variables shared by every block of the page. It stops at the
// first error, as jst.c does.
func (e *Engine) render(out *output, req *http.Request, pg *page, m Mode) error {
	r := &run{
		e: e, pg: pg, req: req, ctx: req.Context(), escape: m.EscapeHTML, out: out,
		vars:     map[string]*variable{},
		maxSteps: e.opts.Limits.MaxSteps, maxValue: e.opts.Limits.MaxValue,
	}
	if !e.opts.NoRequestVars {
		requestVars(req, r.vars)
	}
	r.vars["null"] = &variable{} // js.c defines null, declared without a value
	for _, s := range pg.segs {
		if s.blk == nil {
			if err := out.write(s.text); err != nil {
				pe := pg.errorAt(s.off, "output exceeds the limit of "+strconv.Itoa(out.max)+" bytes")
				pe.Err = err
				return pe
			}
			continue
		}
		if err := r.block(s.blk); err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				return &scriptError{err: pe, blk: s.blk}
			}
			return err
		}
	}
	return nil
}

// requestVars sets a variable for each query and form field, as GoAhead's
// websSetQueryVars and websSetFormVars do: a field given more than once
// has its values joined with a space. They are untrusted values.
func requestVars(req *http.Request, vars map[string]*variable) {
	req.ParseForm() // a malformed field is left out; the rest is kept
	for k, vs := range req.Form {
		if k == "" {
			continue
		}
		vars[k] = &variable{v: untrustedValue(strings.Join(vs, " ")), defined: true}
	}
}
