package static

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"
	"sync"
	"syscall"
)

// DefaultIndex is the file served for a directory when Options.Index is empty.
const DefaultIndex = "index.html"

// Options configures a Handler. The zero value works.
type Options struct {
	// Index is the name of the file served for a request naming a directory
	// with a trailing slash. It must be a single path element. Empty means
	// DefaultIndex.
	Index string

	// Logger receives one line per failed request: Debug for 404, Error for
	// a 500. Nil means discard.
	Logger *slog.Logger

	// CacheFileSize is the largest file, in bytes, kept in memory with its
	// response headers made once (a precompressed sibling counts apart,
	// under the same bound). Zero means DefaultCacheFileSize; negative
	// disables the cache.
	CacheFileSize int64
	// CacheSize caps the bytes of file content kept in memory; once it is
	// reached no more files are added. Zero means DefaultCacheSize.
	CacheSize int64
	// Hidden lists file name extensions (with the dot) that are never
	// served: a request for one is a 404, logged at Debug. Nil means
	// DefaultHidden alone; an empty non-nil slice hides nothing.
	Hidden []string
}

// DefaultHidden is the extension hidden unless Options.Hidden says
// otherwise: template partials (package tmpl renders them into pages; their
// source is never a response).
const DefaultHidden = ".tmpl"

// Handler serves the files of an fs.FS. It is an http.Handler, safe for
// concurrent use. Create one with New.
type Handler struct {
	fsys   fs.FS
	index  string
	log    *slog.Logger
	hidden []string // extensions never served

	// hashes caches the content-hash ETag of files without a modification
	// time, keyed by hashKey. sync.Map guards itself; an entry is written
	// once per file and never changes.
	hashes sync.Map
	cache  cache // small files in memory; guards itself
}

// New returns a Handler serving the files of fsys as configured by opts.
func New(fsys fs.FS, opts Options) *Handler {
	h := &Handler{fsys: fsys, index: opts.Index, log: opts.Logger, hidden: opts.Hidden}
	if h.hidden == nil {
		h.hidden = []string{DefaultHidden}
	}
	if h.index == "" {
		h.index = DefaultIndex
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.cache.maxFile, h.cache.maxSize = opts.CacheFileSize, opts.CacheSize
	if h.cache.maxFile == 0 {
		h.cache.maxFile = DefaultCacheFileSize
	}
	if h.cache.maxSize == 0 {
		h.cache.maxSize = DefaultCacheSize
	}
	if h.cache.maxFile < 0 || h.cache.maxSize < 0 {
		h.cache.maxFile = 0
	}
	return h
}

// Dir returns an fs.FS rooted at the directory dir. It opens dir with
// os.OpenRoot, so no name, including one reached through a symbolic link,
// resolves outside dir; such an open fails. Files it opens are *os.File. The
// directory stays open for the life of the process. Dir returns an error if
// dir cannot be opened or is not a directory.
func Dir(dir string) (fs.FS, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("static: %w", err)
	}
	return &dirFS{root: root, fsys: root.FS()}, nil
}

// ServeHTTP serves the file named by r.URL.Path. See the package comment for
// the rules. The path must start with "/": to mount h under a prefix, strip
// the prefix without its trailing slash (http.StripPrefix("/ui", h)).
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "405 method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name, slash, code := cleanPath(r.URL.Path)
	if code != 0 {
		h.fail(w, r, code, nil)
		return
	}
	if ext := path.Ext(name); ext != "" && slices.Contains(h.hidden, ext) {
		h.fail(w, r, http.StatusNotFound, fmt.Errorf("%s: %s files are never served (a template partial)", name, ext))
		return
	}
	if !slash {
		if e := h.cache.lookup(h.fsys, name); e != nil {
			h.serveEntry(w, r, e)
			return
		}
	}
	f, fi, ok := h.open(w, r, name)
	if !ok {
		return
	}
	defer f.Close()
	switch {
	case fi.IsDir() && !slash:
		h.redirectDir(w, r, name)
		return
	case fi.IsDir():
		h.serveIndex(w, r, name)
		return
	case slash:
		// A file named as a directory: refuse, so that relative links in
		// it do not resolve against a wrong base.
		h.fail(w, r, http.StatusNotFound, nil)
		return
	case !fi.Mode().IsRegular():
		h.fail(w, r, http.StatusNotFound, nil)
		return
	}
	h.serveFile(w, r, name, f, fi)
}

// open opens name and stats it, answering the request with the error if
// either fails.
func (h *Handler) open(w http.ResponseWriter, r *http.Request, name string) (fs.File, fs.FileInfo, bool) {
	f, err := h.fsys.Open(name)
	if err != nil {
		h.fail(w, r, openStatus(err), err)
		return nil, nil, false
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		h.fail(w, r, http.StatusInternalServerError, fmt.Errorf("stat %s: %w", name, err))
		return nil, nil, false
	}
	return f, fi, true
}

// serveIndex serves the index file of the directory dir, or 404.
func (h *Handler) serveIndex(w http.ResponseWriter, r *http.Request, dir string) {
	name := path.Join(dir, h.index)
	if !fs.ValidPath(name) || path.Dir(name) != dir {
		h.fail(w, r, http.StatusNotFound, nil)
		return
	}
	if e := h.cache.lookup(h.fsys, name); e != nil {
		h.serveEntry(w, r, e)
		return
	}
	f, fi, ok := h.open(w, r, name)
	if !ok {
		return
	}
	defer f.Close()
	if !fi.Mode().IsRegular() {
		h.fail(w, r, http.StatusNotFound, nil)
		return
	}
	h.serveFile(w, r, name, f, fi)
}

// redirectDir answers a request for the directory dir made without a
// trailing slash with a 301 to the same path with one. The Location is
// relative ("dir/"), so the redirect stays right when the Handler is mounted
// under a prefix (http.StripPrefix). The query string is kept.
func (h *Handler) redirectDir(w http.ResponseWriter, r *http.Request, dir string) {
	loc := "./"
	if dir != "." {
		// PathEscape leaves ':' alone; escape it so that "a:b/" is not read
		// as a URL with scheme "a".
		loc = strings.ReplaceAll(url.PathEscape(path.Base(dir)), ":", "%3A") + "/"
	}
	if r.URL.RawQuery != "" {
		loc += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", loc)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusMovedPermanently)
}

// openStatus maps an error from opening a file to an HTTP status.
func openStatus(err error) int {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR), errors.Is(err, fs.ErrInvalid):
		// ENOTDIR: a file used as a directory ("/index.html/x").
		return http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		// Out of file descriptors: the server is busy, not broken; the
		// client may retry (Retry-After), and no one else gets a 500.
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// statusText returns the constant body of an error response. It never
// includes anything from the request.
func statusText(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "400 bad request"
	case http.StatusForbidden:
		return "403 forbidden"
	case http.StatusNotFound:
		return "404 page not found"
	case http.StatusInternalServerError:
		return "500 internal server error"
	case http.StatusServiceUnavailable:
		return "503 server busy"
	}
	return http.StatusText(code)
}

// fail writes the error response for code and logs it: 500 at Error with
// err; a file the server may not read (403, permission denied) at Warn,
// as nginx logs it, since it is the operator's to fix; anything else at
// Debug.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, code int, err error) {
	level := slog.LevelDebug
	switch {
	case code == http.StatusServiceUnavailable:
		level = slog.LevelWarn
		w.Header().Set("Retry-After", "1")
	case code >= http.StatusInternalServerError:
		level = slog.LevelError
	case errors.Is(err, fs.ErrPermission):
		level = slog.LevelWarn
		h.log.LogAttrs(r.Context(), level, "static: file not readable by the server: permission denied",
			slog.Int("status", code), slog.String("path", r.URL.Path), slog.Any("err", err))
		http.Error(w, statusText(code), code)
		return
	}
	attrs := []slog.Attr{slog.Int("status", code), slog.String("path", r.URL.Path)}
	if err != nil {
		attrs = append(attrs, slog.Any("err", err))
	}
	h.log.LogAttrs(r.Context(), level, "static: request failed", attrs...)
	http.Error(w, statusText(code), code)
}
