package tmpl

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DefaultMaxOutput is the Options.MaxOutput used when it is zero: 4 MiB.
const DefaultMaxOutput = 4 << 20

// maxPooled is the largest buffer capacity, in bytes, returned to the pool;
// a rare huge page should not pin its buffer forever.
const maxPooled = 256 << 10

// Options configures a Handler.
type Options struct {
	// FS holds the templates, e.g. an embed.FS or os.DirFS. Required.
	FS fs.FS
	// Funcs are functions available to every template; they are
	// registered before parsing.
	Funcs template.FuncMap
	// MaxOutput is the most bytes a page may render to; a page that would
	// be larger answers 500 and sends nothing of itself. Zero means
	// DefaultMaxOutput; negative is an error.
	MaxOutput int
	// Logger receives render failures (Error) and failed writes to the
	// client (Debug); nil discards them.
	Logger *slog.Logger
}

// Data is what a page is rendered with: {{.Request.URL.Path}},
// {{.Values.user}}.
type Data struct {
	// Request is the request being answered.
	Request *http.Request
	// Values are those set with WithValues on the request's context; nil
	// if none.
	Values map[string]any
}

type valuesKey struct{}

// WithValues returns a context whose requests render with Data.Values set
// to v; middleware uses it to hand pages the session user, a CSRF token and
// the like.
func WithValues(ctx context.Context, v map[string]any) context.Context {
	return context.WithValue(ctx, valuesKey{}, v)
}

// set is one parse of the template files.
type set struct {
	t     *template.Template
	pages map[string]bool // slash paths of *.html files
}

// Handler serves the pages of an FS. It is safe for concurrent use.
type Handler struct {
	opts Options
	log  *slog.Logger
	cur  atomic.Pointer[set]
	bufs sync.Pool // of *bytes.Buffer
}

// New parses every *.html and *.tmpl file under opts.FS. Parse errors name
// the file and line.
func New(opts Options) (*Handler, error) {
	if opts.FS == nil {
		return nil, errors.New("tmpl: Options.FS is nil")
	}
	if opts.MaxOutput < 0 {
		return nil, fmt.Errorf("tmpl: MaxOutput %d is negative", opts.MaxOutput)
	}
	if opts.MaxOutput == 0 {
		opts.MaxOutput = DefaultMaxOutput
	}
	h := &Handler{opts: opts, log: opts.Logger}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.bufs.New = func() any { return new(bytes.Buffer) }
	if err := h.Reload(); err != nil {
		return nil, err
	}
	return h, nil
}

// Reload re-parses the files. On error it keeps the set it had and returns
// the error.
func (h *Handler) Reload() error {
	s, err := parse(h.opts.FS, h.opts.Funcs)
	if err != nil {
		return err
	}
	h.cur.Store(s)
	return nil
}

func parse(fsys fs.FS, funcs template.FuncMap) (*set, error) {
	s := &set{t: template.New("").Funcs(funcs), pages: map[string]bool{}}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		ext := path.Ext(name)
		if ext != ".html" && ext != ".tmpl" {
			return nil
		}
		src, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		// html/template's errors already read "template: name:line: …".
		if _, err := s.t.New(name).Parse(string(src)); err != nil {
			return err
		}
		if ext == ".html" && !strings.HasPrefix(d.Name(), ".") {
			s.pages[name] = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("tmpl: parse: %w", err)
	}
	return s, nil
}

// ServeHTTP renders the page the request path names; see the package
// documentation.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s := h.cur.Load()
	name, ok := s.page(r.URL.Path)
	if !ok {
		http.NotFound(w, r)
		return
	}
	buf := h.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooled {
			h.bufs.Put(buf)
		}
	}()
	values, _ := r.Context().Value(valuesKey{}).(map[string]any)
	lw := &limitWriter{buf: buf, max: h.opts.MaxOutput}
	if err := s.t.ExecuteTemplate(lw, name, Data{Request: r, Values: values}); err != nil {
		h.log.Error("tmpl: render failed", "page", name, "path", r.URL.Path, "err", err)
		http.Error(w, "500 internal server error", http.StatusInternalServerError)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/html; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(buf.Len()))
	hd.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(buf.Bytes()); err != nil {
		h.log.Debug("tmpl: write failed", "page", name, "path", r.URL.Path, "err", err)
	}
}

// page maps a request path to the name of a page in s.
func (s *set) page(p string) (string, bool) {
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	for _, el := range strings.Split(p, "/") {
		if strings.HasPrefix(el, ".") { // "..", ".hidden", "."
			return "", false
		}
	}
	name := strings.TrimPrefix(path.Clean(p), "/")
	if name == "" || strings.HasSuffix(p, "/") {
		name = path.Join(name, "index.html")
	}
	if s.pages[name] {
		return name, true
	}
	if idx := path.Join(name, "index.html"); s.pages[idx] {
		return idx, true
	}
	return "", false
}

// errTooLarge is the error a render over Options.MaxOutput fails with.
var errTooLarge = errors.New("tmpl: page exceeds MaxOutput")

// limitWriter appends to buf and fails once buf would exceed max bytes.
type limitWriter struct {
	buf *bytes.Buffer
	max int
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.buf.Len()+len(p) > l.max {
		return 0, fmt.Errorf("%w (%d bytes)", errTooLarge, l.max)
	}
	return l.buf.Write(p)
}
