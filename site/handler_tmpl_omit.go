//go:build notmpl

package site

import (
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
)

// tmplBuilt says handler=tmpl is not available (-tags notmpl).
const tmplBuilt = false

// errNoTmpl is what a handler=tmpl rule fails to load with in this build.
var errNoTmpl = errors.New("tmpl: not built in (built with -tags notmpl)")

// newPages fails: this build has no template engine (-tags notmpl), so a
// route table with a handler=tmpl rule does not load. Leaving html/template
// out saves about 1.9 MB (see README "Small devices").
func newPages(fs.FS, map[string]any, *slog.Logger) (http.Handler, error) {
	return nil, errNoTmpl
}
