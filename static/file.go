package static

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// hashKey identifies a file whose ETag is a content hash. The size guards
// against a file replaced by one of another size under the same name.
type hashKey struct {
	name string
	size int64
}

// serveFile serves the regular file f, named name, with info fi: its gzip
// sibling when there is one the client may receive, f otherwise.
func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string, f fs.File, fi fs.FileInfo) {
	// An *os.File (from Dir) stays an *os.File inside the interface, so
	// ServeContent copies it with sendfile.
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		h.fail(w, r, http.StatusInternalServerError, fmt.Errorf("%s: file does not implement io.Seeker", name))
		return
	}
	if h.cache.fits(fi.Size()) {
		if e := h.fill(r, name, f, fi, contentType(name)); e != nil {
			h.serveEntry(w, r, e)
			return
		}
	}
	if of, ok := f.(*os.File); ok {
		rs = &sizedFile{f: of, size: fi.Size()}
	}
	ctype := contentType(name)
	var vary bool
	if compressible(name, ctype) {
		var served bool
		if served, vary = h.serveSibling(w, r, name, ctype, rs); served {
			return
		}
	}
	tag, err := h.etag(name, fi, rs)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return
	}
	h.setHeaders(w, ctype, tag, vary)
	http.ServeContent(w, r, name, modTime(fi), rs)
}

// serveSibling serves the precompressed sibling of the file name (content
// rs, media type ctype; "" to sniff) when there is one and the client may
// receive it. It reports whether it answered the request, and whether a
// sibling exists: the plain file's response then varies on
// Accept-Encoding. It is apart from serveFile so that serveFile's stack
// frame, under every file response, stays small.
func (h *Handler) serveSibling(w http.ResponseWriter, r *http.Request, name, ctype string, rs io.ReadSeeker) (served, exists bool) {
	gz, gzinfo := h.openSibling(r, name+".gz")
	if gz == nil {
		return false, false
	}
	defer gz.Close()
	if !acceptsGzip(r.Header.Values("Accept-Encoding")) {
		return false, true
	}
	if ctype == "" {
		var err error
		if ctype, err = sniff(rs); err != nil {
			h.fail(w, r, http.StatusInternalServerError, fmt.Errorf("%s: %w", name, err))
			return true, true
		}
	}
	gzrs := gz.(io.ReadSeeker) // checked by openSibling
	tag, err := h.etag(name+".gz", gzinfo, gzrs)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err)
		return true, true
	}
	tag = strings.TrimSuffix(tag, `"`) + `-gz"`
	h.setHeaders(w, ctype, tag, true)
	http.ServeContent(&gzipWriter{ResponseWriter: w}, r, name+".gz", modTime(gzinfo), gzrs)
	return true, true
}

// setHeaders sets the headers of a file response, before ServeContent. An
// empty ctype leaves Content-Type to ServeContent's sniffing.
func (h *Handler) setHeaders(w http.ResponseWriter, ctype, etag string, vary bool) {
	hd := w.Header()
	if ctype != "" {
		hd.Set("Content-Type", ctype)
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("ETag", etag)
	if vary {
		hd.Add("Vary", "Accept-Encoding")
	}
}

// openSibling opens the precompressed sibling name, a regular file that can
// seek. It returns nil when there is none; a sibling that exists but cannot
// be used is logged at Warn and ignored, so the plain file is served.
func (h *Handler) openSibling(r *http.Request, name string) (fs.File, fs.FileInfo) {
	f, err := h.fsys.Open(name)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "static: precompressed sibling ignored",
				slog.String("name", name), slog.Any("err", err))
		}
		return nil, nil
	}
	fi, err := f.Stat()
	switch {
	case err != nil:
		err = fmt.Errorf("stat: %w", err)
	case !fi.Mode().IsRegular():
		err = errors.New("not a regular file")
	}
	if _, ok := f.(io.ReadSeeker); err == nil && !ok {
		err = errors.New("file does not implement io.Seeker")
	}
	if err != nil {
		f.Close()
		if !errors.Is(err, fs.ErrNotExist) {
			h.log.LogAttrs(r.Context(), slog.LevelWarn, "static: precompressed sibling ignored",
				slog.String("name", name), slog.Any("err", err))
		}
		return nil, nil
	}
	return f, fi
}

// etag returns the strong ETag, quoted, of the file name with info fi and
// content rs. A file with a modification time gets one from its size and
// modification time. A file without one (embed.FS) gets the first 16 hex
// digits of the SHA-256 of its content, computed on the first request and
// cached in h; rs is left at offset 0.
func (h *Handler) etag(name string, fi fs.FileInfo, rs io.ReadSeeker) (string, error) {
	if mt := modTime(fi); !mt.IsZero() {
		return fmt.Sprintf(`"%x-%x"`, fi.Size(), mt.UnixNano()), nil
	}
	key := hashKey{name: name, size: fi.Size()}
	if tag, ok := h.hashes.Load(key); ok {
		return tag.(string), nil
	}
	sum := sha256.New()
	if _, err := io.Copy(sum, rs); err != nil {
		return "", fmt.Errorf("hash %s: %w", name, err)
	}
	if _, err := rs.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("hash %s: %w", name, err)
	}
	tag, _ := h.hashes.LoadOrStore(key, fmt.Sprintf(`"%x"`, sum.Sum(nil)[:8]))
	return tag.(string), nil
}

// modTime returns the modification time of fi, or the zero time when it has
// none (zero or the Unix epoch, which ServeContent also ignores).
func modTime(fi fs.FileInfo) time.Time {
	mt := fi.ModTime()
	if mt.IsZero() || mt.Equal(time.Unix(0, 0)) {
		return time.Time{}
	}
	return mt
}

// contentType returns the media type for name from its extension: first a
// built-in table, then mime.TypeByExtension. It returns "" when both fail,
// leaving the type to sniffing.
//
// The table covers extensions a bare device may lack in its mime database
// and is consulted first so that a response does not depend on the host's
// /etc/mime.types (some map .log to text/x-log, which browsers download
// instead of showing).
func contentType(name string) string {
	ext := strings.ToLower(path.Ext(name))
	switch ext {
	case "":
		return ""
	case ".txt", ".log":
		return "text/plain; charset=utf-8"
	case ".md":
		return "text/markdown; charset=utf-8"
	case ".csv":
		return "text/csv; charset=utf-8"
	case ".ico":
		return "image/vnd.microsoft.icon"
	case ".woff":
		return "font/woff"
	case ".woff2":
		return "font/woff2"
	case ".bin":
		return "application/octet-stream"
	}
	return mime.TypeByExtension(ext)
}

// compressible reports whether a file of this name and media type may have a
// precompressed .gz sibling worth looking for: text and the formats that
// compress well. Already-compressed formats (images, archives, firmware
// images) are not looked for, which saves a failed open per request.
func compressible(name, ctype string) bool {
	if ctype == "" {
		return true // unknown: look
	}
	mt, _, _ := strings.Cut(ctype, ";")
	switch {
	case strings.HasPrefix(mt, "text/"), strings.HasSuffix(mt, "+xml"), strings.HasSuffix(mt, "+json"):
		return true
	}
	switch mt {
	case "application/javascript", "application/json", "application/xml", "application/wasm",
		"image/svg+xml", "image/vnd.microsoft.icon", "image/x-icon", "font/ttf", "font/otf",
		"application/manifest+json":
		return true
	}
	return false
}

// sizedFile is an *os.File of known size whose Seek costs no system call
// until a read needs the descriptor's offset, so ServeContent's size probe
// (seek to the end and back) is free. It hands net/http the descriptor
// (syscall.Conn) so the kernel still copies it with sendfile; from then on
// it forwards every call to the file.
type sizedFile struct {
	f      *os.File
	size   int64
	pos    int64 // logical offset
	fdPos  int64 // the descriptor's offset
	handed bool  // the descriptor was handed out: forward everything
}

func (s *sizedFile) sync() error {
	if s.pos != s.fdPos {
		if _, err := s.f.Seek(s.pos, io.SeekStart); err != nil {
			return err
		}
		s.fdPos = s.pos
	}
	return nil
}

func (s *sizedFile) Read(p []byte) (int, error) {
	if s.handed {
		return s.f.Read(p)
	}
	if err := s.sync(); err != nil {
		return 0, err
	}
	n, err := s.f.Read(p)
	s.pos += int64(n)
	s.fdPos = s.pos
	return n, err
}

func (s *sizedFile) Seek(offset int64, whence int) (int64, error) {
	if s.handed {
		return s.f.Seek(offset, whence)
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = s.pos + offset
	case io.SeekEnd:
		abs = s.size + offset
	default:
		return 0, errors.New("static: seek: invalid whence")
	}
	if abs < 0 {
		return 0, errors.New("static: seek: negative position")
	}
	s.pos = abs
	return abs, nil
}

// SyscallConn hands out the file's descriptor at the logical offset.
func (s *sizedFile) SyscallConn() (syscall.RawConn, error) {
	if !s.handed {
		if err := s.sync(); err != nil {
			return nil, err
		}
		s.handed = true
	}
	return s.f.SyscallConn()
}

// sniff returns the media type of the content rs by http.DetectContentType.
// It reads at most 512 bytes and leaves rs at an unspecified offset.
func sniff(rs io.ReadSeeker) (string, error) {
	var buf [512]byte
	n, err := io.ReadFull(rs, buf[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", fmt.Errorf("sniff: %w", err)
	}
	return http.DetectContentType(buf[:n]), nil
}

// gzipWriter passes a response through, adding Content-Encoding: gzip when
// the status is 200 or 206. Setting it only then, rather than before
// ServeContent, keeps ServeContent's Content-Length on a full response (it
// omits it when Content-Encoding is already set) and keeps the header off
// plain-text error responses.
type gzipWriter struct {
	http.ResponseWriter
	wroteHeader bool
}

// WriteHeader adds Content-Encoding: gzip to a 200 or 206 response.
func (g *gzipWriter) WriteHeader(code int) {
	if !g.wroteHeader && (code == http.StatusOK || code == http.StatusPartialContent) {
		g.Header().Set("Content-Encoding", "gzip")
	}
	if code >= 200 {
		g.wroteHeader = true
	}
	g.ResponseWriter.WriteHeader(code)
}

// Write writes p, sending a 200 header first if none was sent.
func (g *gzipWriter) Write(p []byte) (int, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	return g.ResponseWriter.Write(p)
}

// ReadFrom copies src through the underlying writer's ReadFrom when it has
// one, so sendfile still applies.
func (g *gzipWriter) ReadFrom(src io.Reader) (int64, error) {
	if !g.wroteHeader {
		g.WriteHeader(http.StatusOK)
	}
	if rf, ok := g.ResponseWriter.(io.ReaderFrom); ok {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{g.ResponseWriter}, src)
}

// Unwrap returns the underlying ResponseWriter, for http.ResponseController.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }
