package demo

import (
	"bytes"
	"fmt"
	"html"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
)

// nav is the main navigation of every page; current marks one link.
var navLinks = [...]struct{ href, label string }{
	{"./", "Dashboard"}, {"status.html", "Status"}, {"network.html", "Network"},
	{"logs.html", "Logs"}, {"upgrade.html", "Firmware"},
}

// Page writes a complete page in the demo's layout (viewport, style sheet,
// navigation, footer) with status code, title and body, an HTML fragment
// the caller has escaped. current is the href of the navigation entry to
// mark, or "".
func Page(w http.ResponseWriter, code int, title, current, body string) {
	var b bytes.Buffer
	b.WriteString(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>`)
	b.WriteString(html.EscapeString(title))
	b.WriteString(` · vigil-demo</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/style.css">
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/"><span>vigil-demo</span></a>
  <nav aria-label="Main">
`)
	for _, l := range navLinks {
		cur := ""
		if l.href == current {
			cur = ` aria-current="page"`
		}
		fmt.Fprintf(&b, "    <a href=\"/%s\"%s>%s</a>\n", strings.TrimPrefix(l.href, "./"), cur, l.label)
	}
	b.WriteString("  </nav>\n</header>\n<main id=\"main\">\n")
	b.WriteString(body)
	b.WriteString("\n</main>\n<footer class=\"foot\">\n  <p>vigil-demo · Vigil Demo Router VR-1 · a demonstration UI served by vigil</p>\n</footer>\n</body>\n</html>\n")
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(b.Len()))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	w.Write(b.Bytes())
}

// errorText says in words what an error status means to a visitor.
func errorText(code int) string {
	switch code {
	case http.StatusNotFound:
		return "There is no page at this address."
	case http.StatusMethodNotAllowed:
		return "This address does not take that kind of request."
	case http.StatusRequestEntityTooLarge:
		return "The upload is larger than this page accepts (64 MiB for a firmware image)."
	case http.StatusBadRequest:
		return "The request was not understood."
	case http.StatusForbidden:
		return "You may not see this page."
	}
	return "Something went wrong."
}

// ErrorPages serves h with its plain-text error answers (404, 405, 413 and
// any other status of 400 or more that h writes as text/plain) replaced by
// a page in the demo's layout; headers such as Allow are kept.
func ErrorPages(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(&errorPageWriter{ResponseWriter: w, r: r}, r)
	})
}

type errorPageWriter struct {
	http.ResponseWriter
	r        *http.Request
	replaced bool // the error page went out; h's own body is dropped
	wrote    bool
}

func (e *errorPageWriter) WriteHeader(code int) {
	if e.wrote {
		return
	}
	e.wrote = true
	ct := e.Header().Get("Content-Type")
	if code >= 400 && (ct == "" || strings.HasPrefix(ct, "text/plain")) && e.r.Method != http.MethodHead {
		e.replaced = true
		e.Header().Del("Content-Length")
		title := fmt.Sprintf("%d %s", code, http.StatusText(code))
		Page(e.ResponseWriter, code, title, "", "<h1>"+html.EscapeString(title)+"</h1>\n<p>"+errorText(code)+
			"</p>\n<p><a href=\"/\">Back to the dashboard</a></p>")
		return
	}
	e.ResponseWriter.WriteHeader(code)
}

func (e *errorPageWriter) Write(p []byte) (int, error) {
	if !e.wrote {
		e.WriteHeader(http.StatusOK)
	}
	if e.replaced {
		return len(p), nil
	}
	return e.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection.
func (e *errorPageWriter) Unwrap() http.ResponseWriter { return e.ResponseWriter }

// validHostname reports whether h is a host name label: letters, digits and
// hyphens, 1 to 63 of them, neither first nor last a hyphen. Written out
// rather than a regexp: package regexp would add about 100 KB to every
// device's binary for this one check.
func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 63 || h[0] == '-' || h[len(h)-1] == '-' {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c != '-' && (c < '0' || c > '9') && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') {
			return false
		}
	}
	return true
}

// Network is the action behind the network page's Save: it validates the
// form as the device would and answers with what it would apply, or 400
// with every mistake. The demo changes nothing.
var Network http.Handler = http.HandlerFunc(network)

func network(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		Page(w, http.StatusBadRequest, "Network settings", "network.html", "<h1>Network settings</h1><p>The form could not be read.</p>")
		return
	}
	f := r.PostForm
	var errs []string
	var rows []string
	add := func(k, v string) {
		rows = append(rows, "<tr><th scope=row>"+k+"</th><td>"+html.EscapeString(v)+"</td></tr>")
	}
	if h := f.Get("hostname"); !validHostname(h) {
		errs = append(errs, "Host name: letters, digits and hyphens, up to 63 characters, not starting or ending with a hyphen.")
	} else {
		add("Host name", h)
	}
	ip := func(label, v string, optional bool) {
		if v == "" && optional {
			return
		}
		a, err := netip.ParseAddr(v)
		if err != nil || !a.Is4() {
			errs = append(errs, label+": an IPv4 address such as 192.0.2.1.")
			return
		}
		add(label, v)
	}
	switch f.Get("mode") {
	case "dhcp":
		add("Internet connection", "automatic (DHCP)")
	case "static":
		add("Internet connection", "static")
		ip("IP address", f.Get("address"), false)
		if p, err := strconv.Atoi(f.Get("prefix")); err != nil || p < 8 || p > 30 {
			errs = append(errs, "Subnet: a prefix length from /8 to /30.")
		} else {
			add("Subnet", "/"+strconv.Itoa(p))
		}
		ip("Gateway", f.Get("gateway"), false)
	default:
		errs = append(errs, "Internet connection: choose automatic (DHCP) or static.")
	}
	ip("Primary DNS", f.Get("dns1"), false)
	ip("Secondary DNS", f.Get("dns2"), true)
	if len(errs) > 0 {
		var b strings.Builder
		b.WriteString("<h1>Network settings not saved</h1>\n<ul class=\"errors\">")
		for _, e := range errs {
			b.WriteString("<li>" + html.EscapeString(e) + "</li>")
		}
		b.WriteString("</ul>\n<p><a href=\"/network.html\">Back to the settings</a></p>")
		Page(w, http.StatusBadRequest, "Network settings not saved", "network.html", b.String())
		return
	}
	Page(w, http.StatusOK, "Network settings checked", "network.html", "<h1>Network settings checked</h1>\n"+
		"<p class=\"note\">These settings are valid. This is a demo: nothing was applied.</p>\n<table>"+
		strings.Join(rows, "")+"</table>\n<p><a href=\"/network.html\">Back to the settings</a></p>")
}
