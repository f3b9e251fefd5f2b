package static

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Cache bounds applied by New to zero fields of Options.
const (
	// DefaultCacheFileSize is the largest file (and, separately, the largest
	// precompressed sibling) kept in memory, in bytes. Larger files are
	// served from the file system, with sendfile where it can be used.
	DefaultCacheFileSize = 32 << 10
	// DefaultCacheSize caps the bytes of file content kept in memory.
	DefaultCacheSize = 2 << 20
)

// cache keeps small files in memory with their response headers made once.
// An entry is immutable; it is replaced whole when its file changed.
//
// Validation: before an entry is used, the file and its precompressed
// sibling are stat'ed again (fs.Stat: one fstatat each for Dir, no system
// call for embed.FS) and compared with the size, modification time and mode
// they had when the entry was made; any difference drops the entry and
// serves the file from the file system (refilling the entry). A file
// rewritten in place within the file system's timestamp resolution and at
// the same size is not noticed, the same trade-off as the size-and-time
// ETag.
type cache struct {
	maxFile int64 // largest file or sibling cached; 0 disables the cache
	maxSize int64
	size    atomic.Int64 // bytes of content held
	m       sync.Map     // name → *entry
}

// stamp is what validation compares: a file's size, modification time and
// mode as fs.Stat reports them, or that it did not stat.
type stamp struct {
	ok   bool
	size int64
	mod  time.Time
	mode fs.FileMode
}

func stampOf(fi fs.FileInfo) stamp {
	return stamp{ok: true, size: fi.Size(), mod: fi.ModTime(), mode: fi.Mode()}
}

func (s stamp) equal(o stamp) bool {
	return s.ok == o.ok && s.size == o.size && s.mode == o.mode && s.mod.Equal(o.mod)
}

// entry is a cached file: its content and response headers, and those of
// its gzip sibling if the client may be sent that.
type entry struct {
	name   string
	gzName string // name + ".gz"; "" when no sibling is looked for
	st     stamp  // the file's stamp when cached
	gzSt   stamp  // the sibling's stamp when cached (ok false: none)
	plain  variant
	gz     *variant // nil: no usable sibling
}

// variant is one representation of a cached file.
type variant struct {
	body  []byte
	mod   time.Time // Last-Modified; zero none
	ctype string
	etag  string
	vary  bool
	// full is every header of a complete 200 response, as ServeContent
	// would send it; short is the headers set before ServeContent for the
	// other responses (conditional, range). Values have len == cap, so a
	// later Add copies instead of writing into the shared array.
	full, short []field
}

type field struct {
	key string
	val []string
}

func fields(kv ...string) []field {
	out := make([]field, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			continue
		}
		out = append(out, field{kv[i], []string{kv[i+1]}})
	}
	return out
}

func newVariant(body []byte, mod time.Time, ctype, etag string, vary, gzip bool) variant {
	v := variant{body: body, mod: mod, ctype: ctype, etag: etag, vary: vary}
	varyVal, lastMod, enc := "", "", ""
	if vary {
		varyVal = "Accept-Encoding"
	}
	if !mod.IsZero() {
		lastMod = mod.UTC().Format(http.TimeFormat)
	}
	if gzip {
		enc = "gzip"
	}
	v.short = fields("Content-Type", ctype, "X-Content-Type-Options", "nosniff", "Etag", etag, "Vary", varyVal)
	v.full = fields("Content-Type", ctype, "X-Content-Type-Options", "nosniff", "Etag", etag, "Vary", varyVal,
		"Last-Modified", lastMod, "Accept-Ranges", "bytes", "Content-Encoding", enc,
		"Content-Length", strconv.Itoa(len(body)))
	return v
}

func setFields(h http.Header, fs []field) {
	for _, f := range fs {
		h[f.key] = f.val[:1:1]
	}
}

// lookup returns the valid entry for name, or nil.
func (c *cache) lookup(fsys fs.FS, name string) *entry {
	if c.maxFile == 0 {
		return nil
	}
	v, ok := c.m.Load(name)
	if !ok {
		return nil
	}
	e := v.(*entry)
	if !statStamp(fsys, e.name).equal(e.st) || (e.gzName != "" && !statStamp(fsys, e.gzName).equal(e.gzSt)) {
		if c.m.CompareAndDelete(name, e) {
			c.size.Add(-e.bytes())
		}
		return nil
	}
	return e
}

func statStamp(fsys fs.FS, name string) stamp {
	fi, err := fs.Stat(fsys, name)
	if err != nil {
		return stamp{}
	}
	return stampOf(fi)
}

func (e *entry) bytes() int64 {
	n := int64(len(e.plain.body))
	if e.gz != nil {
		n += int64(len(e.gz.body))
	}
	return n
}

// fits reports whether a file of size bytes may be cached at all.
func (c *cache) fits(size int64) bool {
	return c.maxFile > 0 && size <= c.maxFile
}

// store adds e unless the cache is full; it replaces an entry of the same
// name.
func (c *cache) store(e *entry) {
	n := e.bytes()
	if c.size.Add(n) > c.maxSize {
		c.size.Add(-n)
		return
	}
	if old, loaded := c.m.Swap(e.name, e); loaded {
		c.size.Add(-old.(*entry).bytes())
	}
}

// fill reads the regular file f (info fi, already checked to seek) and its
// sibling into a new entry. It returns nil, leaving f at offset 0, when they
// do not fit or cannot be read whole; the caller then serves f as usual.
func (h *Handler) fill(r *http.Request, name string, f fs.File, fi fs.FileInfo, ctype string) *entry {
	body, ok := readAll(f, fi.Size())
	if !ok {
		rewind(f)
		return nil
	}
	e := &entry{name: name, st: stampOf(fi)}
	if ctype == "" {
		ctype = http.DetectContentType(body[:min(len(body), 512)])
	}
	mod := modTime(fi)
	var gz *variant
	if compressible(name, contentType(name)) {
		e.gzName = name + ".gz"
		g, gi := h.openSibling(r, e.gzName)
		if g == nil {
			// None, or one that cannot be used (logged): validated as it is.
			e.gzSt = statStamp(h.fsys, e.gzName)
		} else {
			defer g.Close()
			e.gzSt = stampOf(gi)
			if !h.cache.fits(gi.Size()) {
				rewind(f)
				return nil
			}
			gzBody, ok := readAll(g, gi.Size())
			if !ok {
				rewind(f)
				return nil
			}
			tag := strings.TrimSuffix(h.contentTag(e.gzName, gi, gzBody), `"`) + `-gz"`
			v := newVariant(gzBody, modTime(gi), ctype, tag, true, true)
			gz = &v
		}
	}
	e.plain = newVariant(body, mod, ctype, h.contentTag(name, fi, body), gz != nil, false)
	e.gz = gz
	h.cache.store(e)
	return e
}

// readAll reads exactly size bytes of f and checks it is at its end.
func readAll(f fs.File, size int64) ([]byte, bool) {
	body := make([]byte, size)
	if _, err := io.ReadFull(f, body); err != nil {
		return nil, false
	}
	var one [1]byte
	if n, _ := f.Read(one[:]); n != 0 {
		return nil, false // grew while read
	}
	return body, true
}

func rewind(f fs.File) {
	if s, ok := f.(io.Seeker); ok {
		s.Seek(0, io.SeekStart)
	}
}

// contentTag is etag for content already in memory.
func (h *Handler) contentTag(name string, fi fs.FileInfo, body []byte) string {
	if mt := modTime(fi); !mt.IsZero() {
		return fmt.Sprintf(`"%x-%x"`, fi.Size(), mt.UnixNano())
	}
	key := hashKey{name: name, size: fi.Size()}
	if tag, ok := h.hashes.Load(key); ok {
		return tag.(string)
	}
	sum := sha256.Sum256(body)
	tag, _ := h.hashes.LoadOrStore(key, fmt.Sprintf(`"%x"`, sum[:8]))
	return tag.(string)
}

// serveEntry answers r from the cached e. A plain GET or HEAD gets the
// precomputed headers and the body in one write; a conditional or range
// request goes through http.ServeContent on the content in memory.
func (h *Handler) serveEntry(w http.ResponseWriter, r *http.Request, e *entry) {
	v, name := &e.plain, e.name
	if e.gz != nil && acceptsGzip(r.Header.Values("Accept-Encoding")) {
		v, name = e.gz, e.gzName
	}
	hd := r.Header
	if hd["Range"] != nil || hd["If-None-Match"] != nil || hd["If-Modified-Since"] != nil ||
		hd["If-Match"] != nil || hd["If-Unmodified-Since"] != nil || hd["If-Range"] != nil {
		setFields(w.Header(), v.short)
		if v == e.gz {
			w = &gzipWriter{ResponseWriter: w}
		}
		http.ServeContent(w, r, name, v.mod, bytes.NewReader(v.body))
		return
	}
	setFields(w.Header(), v.full)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(v.body)
	}
}
