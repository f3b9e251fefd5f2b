//go:build !notmpl

package vigil_test

// tmplBuilt says handler=tmpl is available (not -tags notmpl).
const tmplBuilt = true
