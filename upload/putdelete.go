package upload

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path"
	"strings"
)

// PutDelete is the PUT/DELETE file handler. Mount it with
// http.StripPrefix so that r.URL.Path is the path below Root. The zero
// value refuses everything (Root "" cannot be opened).
//
// Every file operation goes through os.Root, so no name or symlink can
// reach outside Root. PUT streams into a temp file (".put-*.tmp") in the
// target's directory, syncs it and renames it over the target: a PUT that
// does not complete leaves the old file and no temp file.
type PutDelete struct {
	// Root is the directory files are put into and deleted from.
	Root string
	// MaxSize is the limit in bytes of a PUT body, counted as it arrives;
	// 0 means DefaultMaxFileSize.
	MaxSize int64
	// Logger receives Debug records for refused and failed requests; nil
	// means slog.Default().
	Logger *slog.Logger
}

// ServeHTTP answers PUT with 201 (created) or 204 (replaced), DELETE with
// 204, and other methods with 405. A PUT whose body fails before its end
// (cut short, reset, stalled) writes nothing and is 400, logged at Info. Only regular files are put or deleted:
// a directory is 409, a symlink or device 403. A path with "..", a
// backslash or NUL is 400, a dotfile segment 403, a missing parent 409.
func (pd *PutDelete) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut && r.Method != http.MethodDelete {
		w.Header().Set("Allow", "PUT, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	log := pd.Logger
	if log == nil {
		log = slog.Default()
	}
	name, code := cleanPath(r.URL.Path)
	if code != 0 {
		http.Error(w, http.StatusText(code), code)
		return
	}
	root, err := os.OpenRoot(pd.Root)
	if err != nil {
		log.Error("upload: open root", "root", pd.Root, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	defer root.Close()
	if r.Method == http.MethodDelete {
		pd.delete(w, root, name, log)
		return
	}
	pd.put(w, r, root, name, log)
}

// cleanPath returns the name below Root for p, or a status to refuse it.
func cleanPath(p string) (string, int) {
	if strings.ContainsAny(p, "\\\x00") {
		return "", http.StatusBadRequest
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch {
		case seg == "..":
			return "", http.StatusBadRequest
		case strings.HasPrefix(seg, "."):
			return "", http.StatusForbidden
		}
	}
	name := strings.TrimPrefix(path.Clean("/"+p), "/")
	if name == "" || strings.HasSuffix(p, "/") {
		return "", http.StatusBadRequest
	}
	return name, 0
}

// statusFor maps an os.Root error: a missing file is notFound, anything
// else (an escaping symlink, a permission) is 403.
func statusFor(err error, notFound int) int {
	if errors.Is(err, fs.ErrNotExist) {
		return notFound
	}
	return http.StatusForbidden
}

func (pd *PutDelete) delete(w http.ResponseWriter, root *os.Root, name string, log *slog.Logger) {
	fi, err := root.Lstat(name)
	switch {
	case err == nil && fi.IsDir():
		http.Error(w, "is a directory", http.StatusConflict)
		return
	case err == nil && !fi.Mode().IsRegular():
		http.Error(w, "not a regular file", http.StatusForbidden)
		return
	}
	if err == nil {
		err = root.Remove(name)
	}
	if err != nil {
		code := statusFor(err, http.StatusNotFound)
		log.Debug("upload: delete refused", "name", name, "status", code, "err", err)
		http.Error(w, http.StatusText(code), code)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (pd *PutDelete) put(w http.ResponseWriter, r *http.Request, root *os.Root, name string, log *slog.Logger) {
	limit := pd.MaxSize
	if limit <= 0 {
		limit = DefaultMaxFileSize
	}
	if r.ContentLength > limit {
		http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
		return
	}
	dir := path.Dir(name)
	if fi, err := root.Stat(dir); err != nil || !fi.IsDir() {
		code := http.StatusConflict
		if err != nil {
			code = statusFor(err, http.StatusConflict)
		}
		log.Debug("upload: put parent refused", "name", name, "status", code, "err", err)
		http.Error(w, http.StatusText(code), code)
		return
	}
	existed := false
	switch fi, err := root.Lstat(name); {
	case err == nil && !fi.Mode().IsRegular():
		http.Error(w, "not a regular file", http.StatusForbidden)
		return
	case err == nil:
		existed = true
	case !errors.Is(err, fs.ErrNotExist):
		code := statusFor(err, http.StatusConflict)
		http.Error(w, http.StatusText(code), code)
		return
	}
	tmp := path.Join(dir, ".put-"+rand.Text()+".tmp")
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		log.Error("upload: put temp file", "name", name, "err", err)
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	body := &limitReader{r: r.Body, n: limit}
	_, err = io.Copy(f, body)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		if rerr := root.Remove(tmp); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
			log.Warn("upload: remove put temp file", "name", tmp, "err", rerr)
		}
		switch {
		case errors.Is(err, ErrTooLarge):
			http.Error(w, "request entity too large", http.StatusRequestEntityTooLarge)
		case body.err != nil:
			// The body ended before its end (a half-close before
			// Content-Length, a reset, a stall): nothing was written, and
			// the answer must not look like success, in the access log
			// either. If the peer is gone the 400 goes nowhere.
			log.Info("upload: put refused: request body incomplete", "name", name, "err", err)
			http.Error(w, "400 request body incomplete", http.StatusBadRequest)
		default:
			log.Error("upload: put", "name", name, "err", fmt.Errorf("%w: %w", ErrStorage, err))
			http.Error(w, "internal server error", http.StatusInternalServerError)
		}
		return
	}
	if d, err := root.Open(dir); err == nil {
		d.Sync() // make the rename durable; best effort
		d.Close()
	}
	if existed {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusCreated)
}
