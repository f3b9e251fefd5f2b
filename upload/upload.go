package upload

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"unicode/utf8"
)

// Defaults applied by [New] to zero Options fields.
const (
	DefaultMaxFileSize    = 64 << 20  // bytes per file
	DefaultMaxRequestSize = 256 << 20 // bytes per request body
	DefaultMaxFiles       = 16        // files per request
	DefaultMaxFieldSize   = 64 << 10  // bytes per non-file field
	DefaultMaxParts       = 1000      // parts (files and fields) per request
	maxClientName         = 255       // bytes in File.ClientName
	maxBoundary           = 70        // RFC 2046 §5.1.1
	fieldsPerRequest      = 16        // default MaxMemory = this × MaxFieldSize
	// partOverhead is what a part costs in memory beyond its bytes (a
	// header map, a url.Values entry), counted against MaxMemory as Go's
	// own ReadForm does since CVE-2023-24536.
	partOverhead = 100
	// peekSlack is how far mime/multipart reads ahead of the part it
	// parses (its bufio.Reader): a part header is cut at MaxMemory plus
	// this much.
	peekSlack = 4096
)

var (
	// ErrTooLarge is wrapped by errors for a body, file, field or file
	// count over its limit. [Status] maps it to 413.
	ErrTooLarge = errors.New("too large")
	// ErrMalformed is wrapped by errors for a body that is not valid
	// multipart/form-data. [Status] maps it to 400.
	ErrMalformed = errors.New("malformed multipart body")
	// ErrStorage is wrapped by errors of the local filesystem (creating,
	// writing or closing a temp file). [Status] maps it to 500.
	ErrStorage = errors.New("storage")
)

// Options configures a [Handler]. The zero value works.
type Options struct {
	// Dir is where temp files are created; it is created with mode 0700
	// if missing. Empty means os.TempDir().
	Dir string
	// MaxFileSize is the limit in bytes of each file; 0 means
	// DefaultMaxFileSize. It bounds the body phase.
	MaxFileSize int64
	// MaxRequestSize is the limit in bytes of the whole body, counted as
	// it arrives (chunked too); 0 means DefaultMaxRequestSize. A declared
	// Content-Length above it is refused before reading.
	MaxRequestSize int64
	// MaxFiles is the limit on file parts per request; 0 means
	// DefaultMaxFiles.
	MaxFiles int
	// MaxFieldSize is the limit in bytes of each non-file field; 0 means
	// DefaultMaxFieldSize. All non-file fields of a request together are
	// limited to fieldsPerRequest (16) times it, since they are kept in
	// memory.
	MaxFieldSize int64
	// MaxParts is the limit on parts, files and fields together, per
	// request; 0 means DefaultMaxParts (route.txt: limit-parts=).
	MaxParts int
	// MaxMemory is the limit in bytes of what a request keeps in memory:
	// every part's header (the field names in it included) plus a fixed
	// overhead per part, and the values of non-file fields. A part header
	// that would pass it is refused as it arrives, before it is whole. 0
	// means 16 × MaxFieldSize (1 MiB by default).
	MaxMemory int64
	// Logger receives Debug records for refused uploads; nil means
	// slog.Default().
	Logger *slog.Logger
}

// Handler receives uploads. It is safe for concurrent use.
type Handler struct {
	opts Options
}

// New returns a Handler with the defaults applied to opts.
func New(opts Options) *Handler {
	if opts.Dir == "" {
		opts.Dir = os.TempDir()
	}
	if opts.MaxFileSize <= 0 {
		opts.MaxFileSize = DefaultMaxFileSize
	}
	if opts.MaxRequestSize <= 0 {
		opts.MaxRequestSize = DefaultMaxRequestSize
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.MaxFieldSize <= 0 {
		opts.MaxFieldSize = DefaultMaxFieldSize
	}
	if opts.MaxParts <= 0 {
		opts.MaxParts = DefaultMaxParts
	}
	if opts.MaxMemory <= 0 {
		opts.MaxMemory = fieldsPerRequest * opts.MaxFieldSize
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	return &Handler{opts: opts}
}

// WithMaxParts returns a Handler like h whose limit on parts is n (for a
// route's limit-parts=); n <= 0 returns h.
func (h *Handler) WithMaxParts(n int) *Handler {
	if n <= 0 || n == h.opts.MaxParts {
		return h
	}
	o := h.opts
	o.MaxParts = n
	return &Handler{opts: o}
}

// File is one received file.
type File struct {
	Field       string // form field name; empty for a raw body
	ClientName  string // client's file name, sanitised (base name, no control bytes, ≤ 255 bytes)
	Path        string // temp file path in Options.Dir
	Size        int64  // bytes
	ContentType string // as sent by the client; may be empty
	SHA256      string // lower-case hex digest of the content
}

// Result is what [Handler.Receive] received. The caller owns the temp
// files and must call [Result.Remove] once it has moved or consumed them.
type Result struct {
	Files  []File
	Values url.Values
}

// Remove deletes the temp files that are still present.
func (res *Result) Remove() error {
	var errs []error
	for _, f := range res.Files {
		if err := os.Remove(f.Path); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Status maps an error of [Handler.Receive] to the response status:
// 200 for nil, 413 for ErrTooLarge (or *http.MaxBytesError), 400 for
// ErrMalformed, 500 for ErrStorage, and 0 for anything else — a read
// error, stall or reset: the connection is gone, don't answer.
func Status(err error) int {
	var mbe *http.MaxBytesError
	switch {
	case err == nil:
		return http.StatusOK
	case errors.Is(err, ErrTooLarge), errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrMalformed):
		return http.StatusBadRequest
	case errors.Is(err, ErrStorage):
		return http.StatusInternalServerError
	}
	return 0
}

// Receive streams the body of r into temp files: each file part of a
// multipart/form-data body, or the whole body of any other content type as
// one file named by the "filename" query parameter (sanitised) or "body".
// It writes nothing to w; on error it has removed every temp file it made.
func (h *Handler) Receive(w http.ResponseWriter, r *http.Request) (*Result, error) {
	o := h.opts
	if r.ContentLength > o.MaxRequestSize {
		return nil, fmt.Errorf("upload: Content-Length %d over %d bytes: %w", r.ContentLength, o.MaxRequestSize, ErrTooLarge)
	}
	if err := os.MkdirAll(o.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("upload: %w: %w", ErrStorage, err)
	}
	src := r.Body
	if src == nil {
		src = http.NoBody
	}
	body := &limitReader{r: src, n: o.MaxRequestSize}
	rc := &receive{h: h, body: body, res: &Result{Values: url.Values{}}, mem: o.MaxMemory}
	err := rc.run(r)
	if err != nil {
		if rerr := rc.res.Remove(); rerr != nil {
			o.Logger.Warn("upload: remove temp files", "err", rerr)
		}
		o.Logger.Debug("upload: refused", "path", r.URL.Path, "err", err)
		return nil, err
	}
	return rc.res, nil
}

type receive struct {
	h     *Handler
	body  *limitReader
	res   *Result
	parts int   // parts so far
	mem   int64 // bytes of Options.MaxMemory still free
}

func (rc *receive) run(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	mt, params, perr := mime.ParseMediaType(ct)
	if perr != nil && strings.HasPrefix(strings.ToLower(strings.TrimSpace(ct)), "multipart/") {
		return fmt.Errorf("upload: Content-Type: %w: %w", ErrMalformed, perr)
	}
	if mt != "multipart/form-data" {
		name := sanitize(r.URL.Query().Get("filename"))
		if name == "" {
			name = "body"
		}
		return rc.file("", name, ct, rc.body)
	}
	boundary, ok := params["boundary"]
	if !ok || !validBoundary(boundary) {
		return fmt.Errorf("upload: boundary %q: %w", boundary, ErrMalformed)
	}
	mr := multipart.NewReader(rc.body, boundary)
	o := rc.h.opts
	for {
		// The part header is read into memory by mime/multipart, which
		// allows 10 MiB of it: cut it as it arrives, at what is left of
		// MaxMemory (plus what the parser may read ahead).
		rc.body.window, rc.body.windowed = rc.mem+peekSlack, true
		p, err := mr.NextRawPart()
		rc.body.windowed = false
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return rc.classify(err)
		}
		if rc.parts++; rc.parts > o.MaxParts {
			return fmt.Errorf("upload: more than %d parts: %w", o.MaxParts, ErrTooLarge)
		}
		if err := rc.spend(headerSize(p.Header)+partOverhead, "part headers"); err != nil {
			return err
		}
		if err := rc.part(p); err != nil {
			return err
		}
	}
}

// spend takes n bytes from the request's memory budget.
func (rc *receive) spend(n int64, what string) error {
	if rc.mem -= n; rc.mem < 0 {
		return fmt.Errorf("upload: %s over the %d bytes a request may keep in memory: %w", what, rc.h.opts.MaxMemory, ErrTooLarge)
	}
	return nil
}

// headerSize is the bytes a part header holds in memory.
func headerSize(h textproto.MIMEHeader) int64 {
	var n int64
	for k, vs := range h {
		n += int64(len(k))
		for _, v := range vs {
			n += int64(len(v)) + 16 // a string header
		}
	}
	return n
}

// classify turns an error seen through the multipart reader into a read
// error (what the body reported) or ErrMalformed (what the parser found).
func (rc *receive) classify(err error) error {
	if rc.body.err != nil {
		return rc.body.err
	}
	if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrStorage) {
		return err
	}
	return fmt.Errorf("upload: %w: %w", ErrMalformed, err)
}

func (rc *receive) part(p *multipart.Part) error {
	o := rc.h.opts
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return fmt.Errorf("upload: Content-Disposition: %w: %w", ErrMalformed, err)
	}
	field := params["name"]
	if field == "" {
		return fmt.Errorf("upload: part without a name: %w", ErrMalformed)
	}
	if fname, isFile := params["filename"]; isFile {
		if len(rc.res.Files) >= o.MaxFiles {
			return fmt.Errorf("upload: more than %d files: %w", o.MaxFiles, ErrTooLarge)
		}
		name := sanitize(fname)
		if name == "" {
			name = "file"
		}
		return rc.file(field, name, p.Header.Get("Content-Type"), p)
	}
	var buf bytes.Buffer
	limit := min(o.MaxFieldSize, max(rc.mem, 0))
	n, err := io.Copy(&buf, io.LimitReader(p, limit+1))
	if err != nil {
		return rc.classify(err)
	}
	if n > o.MaxFieldSize {
		return fmt.Errorf("upload: field %q over %d bytes: %w", sanitize(field), o.MaxFieldSize, ErrTooLarge)
	}
	if err := rc.spend(n, "fields"); err != nil {
		return err
	}
	rc.res.Values.Add(field, buf.String())
	return nil
}

// file copies src into a new temp file and records it in rc.res, so a
// later failure removes it too.
func (rc *receive) file(field, name, ctype string, src io.Reader) error {
	o := rc.h.opts
	f, err := os.CreateTemp(o.Dir, "upload-*")
	if err != nil {
		return fmt.Errorf("upload: %w: %w", ErrStorage, err)
	}
	rc.res.Files = append(rc.res.Files, File{Field: field, ClientName: name, Path: f.Name(), ContentType: ctype})
	h := sha256.New()
	n, cerr := io.Copy(io.MultiWriter(f, h), io.LimitReader(src, o.MaxFileSize+1))
	if err := f.Close(); err != nil && cerr == nil {
		cerr = fmt.Errorf("upload: %w: %w", ErrStorage, err)
	}
	if cerr != nil {
		var pe *os.PathError
		if errors.As(cerr, &pe) && pe.Path == f.Name() {
			return fmt.Errorf("upload: %w: %w", ErrStorage, cerr)
		}
		return rc.classify(cerr)
	}
	if n > o.MaxFileSize {
		return fmt.Errorf("upload: file %q over %d bytes: %w", name, o.MaxFileSize, ErrTooLarge)
	}
	last := &rc.res.Files[len(rc.res.Files)-1]
	last.Size = n
	last.SHA256 = hex.EncodeToString(h.Sum(nil))
	return nil
}

// limitReader counts the body as it arrives and fails once more than n
// bytes have come. err keeps the first error that is not io.EOF.
type limitReader struct {
	r   io.Reader
	n   int64 // bytes still allowed; negative once over
	err error
	// window, while windowed, is the bytes still allowed: the bound on a
	// part header while it is parsed.
	window   int64
	windowed bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.err != nil {
		return 0, l.err
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	if l.windowed && int64(len(p)) > l.window+1 {
		p = p[:l.window+1]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	if l.n < 0 {
		l.err = fmt.Errorf("upload: request body: %w", ErrTooLarge)
		return 0, l.err
	}
	if l.windowed {
		if l.window -= int64(k); l.window < 0 {
			l.err = fmt.Errorf("upload: part header over the bytes a request may keep in memory: %w", ErrTooLarge)
			return 0, l.err
		}
	}
	if err != nil && err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("upload: request body: %w: %w", ErrTooLarge, err)
		} else {
			err = fmt.Errorf("upload: read body: %w", err)
		}
		l.err = err
	}
	return k, err
}

// validBoundary reports whether b is a boundary of RFC 2046 §5.1.1:
// 1 to 70 characters from bcharsnospace or space, not ending in space.
func validBoundary(b string) bool {
	if b == "" || len(b) > maxBoundary || b[len(b)-1] == ' ' {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("'()+_,-./:=? ", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// sanitize reduces a client file name to its base name, without path
// separators (either kind), control bytes or invalid UTF-8, at most 255
// bytes. It returns "" when nothing usable is left.
func sanitize(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	for len(name) > maxClientName {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "." || name == ".." {
		return ""
	}
	return name
}
