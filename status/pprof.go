//go:build !nopprof

package status

import (
	"bufio"
	"bytes"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"time"
)

// MaxProfileSeconds bounds the ?seconds= of GET /debug/pprof/profile and
// /debug/pprof/trace: a longer capture is refused with 400.
const MaxProfileSeconds = 300

// pprofBuilt says the pprof pages are served: this build is without -tags
// nopprof.
const pprofBuilt = true

// handlePprof mounts the pprof pages. They are those of net/http/pprof,
// served here from runtime/pprof and runtime/trace directly: the same
// URLs, parameters, headers and bodies, except that ?seconds= on a named
// profile (a delta profile) answers 400 — take two profiles and compare
// them with go tool pprof -diff_base. Not importing net/http/pprof also
// keeps its handlers off http.DefaultServeMux.
func (s *Server) handlePprof(m *http.ServeMux) {
	m.HandleFunc("GET /debug/pprof/", pprofIndex)
	m.HandleFunc("GET /debug/pprof/cmdline", pprofCmdline)
	m.HandleFunc("GET /debug/pprof/profile", pprofCPU)
	m.HandleFunc("GET /debug/pprof/symbol", pprofSymbol)
	m.HandleFunc("POST /debug/pprof/symbol", pprofSymbol)
	m.HandleFunc("GET /debug/pprof/trace", pprofTrace)
}

func pprofCmdline(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, strings.Join(os.Args, "\x00"))
}

// pprofSleep waits d or until the request is gone.
func pprofSleep(r *http.Request, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
	}
}

// pprofWriteDeadline extends the write deadline of a server with a
// WriteTimeout by the capture's length, as net/http/pprof does.
func pprofWriteDeadline(w http.ResponseWriter, r *http.Request, seconds float64) {
	srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server)
	if ok && srv.WriteTimeout > 0 {
		timeout := srv.WriteTimeout + time.Duration(seconds*float64(time.Second))
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(timeout))
	}
}

func pprofError(w http.ResponseWriter, status int, txt string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Go-Pprof", "1")
	w.Header().Del("Content-Disposition")
	w.WriteHeader(status)
	io.WriteString(w, txt+"\n")
}

// pprofSeconds parses ?seconds=: def if absent, unparsable or not
// positive; ok false (and a 400 sent) above MaxProfileSeconds.
func pprofSeconds(w http.ResponseWriter, r *http.Request, def float64) (float64, bool) {
	sec, err := strconv.ParseFloat(r.FormValue("seconds"), 64)
	if sec <= 0 || err != nil {
		sec = def
	}
	if sec > MaxProfileSeconds {
		pprofError(w, http.StatusBadRequest, fmt.Sprintf("seconds %v is above the limit of %d", sec, MaxProfileSeconds))
		return 0, false
	}
	return sec, true
}

func pprofCPU(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	sec, err := strconv.ParseInt(r.FormValue("seconds"), 10, 64)
	if sec <= 0 || err != nil {
		sec = 30
	}
	if sec > MaxProfileSeconds {
		pprofError(w, http.StatusBadRequest, fmt.Sprintf("seconds %d is above the limit of %d", sec, MaxProfileSeconds))
		return
	}
	pprofWriteDeadline(w, r, float64(sec))
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="profile"`)
	if err := pprof.StartCPUProfile(w); err != nil {
		pprofError(w, http.StatusInternalServerError, fmt.Sprintf("Could not enable CPU profiling: %s", err))
		return
	}
	pprofSleep(r, time.Duration(sec)*time.Second)
	pprof.StopCPUProfile()
}

func pprofTrace(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	sec, ok := pprofSeconds(w, r, 1)
	if !ok {
		return
	}
	pprofWriteDeadline(w, r, sec)
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", `attachment; filename="trace"`)
	if err := trace.Start(w); err != nil {
		pprofError(w, http.StatusInternalServerError, fmt.Sprintf("Could not enable tracing: %s", err))
		return
	}
	pprofSleep(r, time.Duration(sec*float64(time.Second)))
	trace.Stop()
}

// maxSymbolBody bounds a POST to /debug/pprof/symbol: each address read
// adds a line to the answer, which is built in memory. go tool pprof posts
// at most a few thousand addresses.
const maxSymbolBody = 1 << 20

// pprofSymbol maps program counters ("0x1234+0x5678", in the query or the
// body) to function names.
func pprofSymbol(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	var buf bytes.Buffer
	buf.WriteString("num_symbols: 1\n")
	var b *bufio.Reader
	if r.Method == http.MethodPost {
		b = bufio.NewReader(http.MaxBytesReader(w, r.Body, maxSymbolBody))
	} else {
		b = bufio.NewReader(strings.NewReader(r.URL.RawQuery))
	}
	for {
		word, err := b.ReadSlice('+')
		if err == nil {
			word = word[:len(word)-1] // trim +
		}
		if pc, _ := strconv.ParseUint(string(word), 0, 64); pc != 0 {
			if f := runtime.FuncForPC(uintptr(pc)); f != nil {
				fmt.Fprintf(&buf, "%#x %s\n", pc, f.Name())
			}
		}
		if err != nil {
			if err != io.EOF {
				fmt.Fprintf(&buf, "reading request: %v\n", err)
			}
			break
		}
	}
	w.Write(buf.Bytes())
}

// pprofProfile serves the named runtime/pprof profile.
func pprofProfile(w http.ResponseWriter, r *http.Request, name string) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	p := pprof.Lookup(name)
	if p == nil {
		pprofError(w, http.StatusNotFound, "Unknown profile")
		return
	}
	if r.FormValue("seconds") != "" {
		pprofError(w, http.StatusBadRequest, `"seconds" (a delta profile) is not supported by vigil: take two profiles and compare them with go tool pprof -diff_base`)
		return
	}
	if gc, _ := strconv.Atoi(r.FormValue("gc")); name == "heap" && gc > 0 {
		runtime.GC()
	}
	debug, _ := strconv.Atoi(r.FormValue("debug"))
	if debug != 0 {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s"`, name))
	}
	p.WriteTo(w, debug)
}

var pprofDescriptions = map[string]string{
	"allocs":       "A sampling of all past memory allocations",
	"block":        "Stack traces that led to blocking on synchronization primitives",
	"cmdline":      "The command line invocation of the current program",
	"goroutine":    "Stack traces of all current goroutines. Use debug=2 as a query parameter to export in the same format as an unrecovered panic.",
	"heap":         "A sampling of memory allocations of live objects. You can specify the gc GET parameter to run GC before taking the heap sample.",
	"mutex":        "Stack traces of holders of contended mutexes",
	"profile":      "CPU profile. You can specify the duration in the seconds GET parameter. After you get the profile file, use the go tool pprof command to investigate the profile.",
	"symbol":       "Maps given program counters to function names. Counters can be specified in a GET raw query or POST body, multiple counters are separated by '+'.",
	"threadcreate": "Stack traces that led to the creation of new OS threads",
	"trace":        "A trace of execution of the current program. You can specify the duration in the seconds GET parameter. After you get the trace file, use the go tool trace command to investigate the trace.",
}

// pprofIndex serves a named profile, or the index page at the root.
func pprofIndex(w http.ResponseWriter, r *http.Request) {
	if name, found := strings.CutPrefix(r.URL.Path, "/debug/pprof/"); found && name != "" {
		pprofProfile(w, r, name)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")

	type entry struct {
		name  string
		count int
	}
	var profiles []entry
	for _, p := range pprof.Profiles() {
		profiles = append(profiles, entry{p.Name(), p.Count()})
	}
	for _, p := range []string{"cmdline", "profile", "symbol", "trace"} {
		profiles = append(profiles, entry{name: p})
	}
	slices.SortFunc(profiles, func(a, b entry) int { return strings.Compare(a.name, b.name) })

	var b bytes.Buffer
	b.WriteString(`<html>
<head>
<title>/debug/pprof/</title>
<style>
.profile-name{
	display:inline-block;
	width:6rem;
}
</style>
</head>
<body>
/debug/pprof/
<br>
<p>Set debug=1 as a query parameter to export in legacy text format</p>
<br>
Types of profiles available:
<table>
<thead><td>Count</td><td>Profile</td></thead>
`)
	for _, p := range profiles {
		link := &url.URL{Path: p.name, RawQuery: "debug=1"}
		fmt.Fprintf(&b, "<tr><td>%d</td><td><a href='%s'>%s</a></td></tr>\n", p.count, link, html.EscapeString(p.name))
	}
	b.WriteString(`</table>
<a href="goroutine?debug=2">full goroutine stack dump</a>
<br>
<p>
Profile Descriptions:
<ul>
`)
	for _, p := range profiles {
		fmt.Fprintf(&b, "<li><div class=profile-name>%s: </div> %s</li>\n", html.EscapeString(p.name), html.EscapeString(pprofDescriptions[p.name]))
	}
	b.WriteString(`</ul>
</p>
</body>
</html>`)
	w.Write(b.Bytes())
}
