//go:build !notmpl

package site

import (
	"io/fs"
	"log/slog"
	"net/http"

	"github.com/vigilhttp/vigil/tmpl"
)

// tmplBuilt says handler=tmpl is available: this build is without -tags
// notmpl.
const tmplBuilt = true

// newPages returns the handler of the handler=tmpl rules: the html/template
// pages under fsys, with funcs.
func newPages(fsys fs.FS, funcs map[string]any, log *slog.Logger) (http.Handler, error) {
	h, err := tmpl.New(tmpl.Options{FS: fsys, Funcs: funcs, Logger: log})
	if err != nil {
		return nil, err
	}
	return h, nil
}
