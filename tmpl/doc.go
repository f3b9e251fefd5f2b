// Package tmpl owns server-rendered pages for device UIs, replacing
// GoAhead's JST: html/template files read once from an fs.FS and rendered
// by request path.
//
// New parses every *.html and *.tmpl file under Options.FS into one set,
// each file a template named by its slash path ("net/wifi.html"), so a page
// may call any partial with {{template "partials/head.tmpl" .}} or with a
// name it {{define}}s. Only *.html files are pages: a request reaches them
// by path, "/" or a directory meaning its index.html. *.tmpl files are
// partials and are never served on their own. Paths with a ".." element or
// an element starting with "." are refused with 404, as are names with no
// page.
//
// A page is rendered with Data (the request, and Values set by middleware
// with WithValues) into a pooled buffer capped at Options.MaxOutput. Only a
// complete render is sent: an execution error or a page over the cap
// answers 500 with a generic body and a log line, and no byte of the page
// leaves. A complete page goes out with Content-Length and
// Cache-Control: no-store in a single Write; the connection governor below
// bounds that write by progress, so a client that stops reading holds only
// its own connection.
//
// Escaping is html/template's contextual auto-escaping; Funcs registered by
// the embedding program are available to every template.
//
// Reload re-parses the files and swaps the set in only if every file
// parses; renders in flight finish with the set they started with.
//
// Package tmpl imports only the standard library, and no package of this
// module.
package tmpl
