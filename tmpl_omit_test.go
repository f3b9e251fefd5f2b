//go:build notmpl

package vigil_test

// tmplBuilt says handler=tmpl is available: not with -tags notmpl.
const tmplBuilt = false
