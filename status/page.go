package status

import (
	"bytes"
	"cmp"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

//go:embed ui/app.js ui/style.css
var ui embed.FS

// pageCSP allows the page its own script, style sheet and event stream and
// nothing else: no inline script or style, no other origin.
const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// pageData is what writePage renders.
type pageData struct {
	Now       string
	Uptime    string
	StartedMS int64 // process start, Unix milliseconds, for the script's uptime
	Info      []pair
	Stats     Counters
	Closed    []pair // closes by cause, non-zero, in governor.Causes order
	Rows      []rowView
	Metrics   bool // /metrics is built in (not -tags nometrics)
	Pprof     bool // /debug/pprof/ is built in (not -tags nopprof)
}

type pair struct{ K, V string }

// infoFirst are the Options.Info keys shown first, in this order.
var infoFirst = []string{"version", "revision", "go", "listen", "root"}

// rowView is one connection as the page shows it; app.js renders the same
// cells from the event stream.
type rowView struct {
	ID                     uint64
	Remote, Phase, Request string
	In, Out, Age, Since    string
	Rule, Kernel, Hint     string
	Stuck                  bool
}

func (s *Server) servePage(w http.ResponseWriter, r *http.Request) {
	infos, st, now := s.read()
	d := pageData{
		Now:       now.UTC().Format(time.RFC3339),
		Uptime:    uptimeText(now.Sub(s.started)),
		StartedMS: s.started.UnixMilli(),
		Stats:     Counters{Open: st.Open, Accepted: st.Accepted, Refused: st.Refused},
		Metrics:   metricsBuilt,
		Pprof:     pprofBuilt,
	}
	for k, v := range s.opts.Info {
		d.Info = append(d.Info, pair{k, v})
	}
	// What a person asks first (which build, where, what) leads; the
	// bounds follow by name.
	first := func(k string) int {
		if i := slices.Index(infoFirst, k); i >= 0 {
			return i
		}
		return len(infoFirst)
	}
	slices.SortFunc(d.Info, func(a, b pair) int { return cmp.Or(cmp.Compare(first(a.K), first(b.K)), cmp.Compare(a.K, b.K)) })
	for _, c := range governor.Causes() {
		if n := st.Closed[c]; n > 0 {
			d.Closed = append(d.Closed, pair{c.String(), strconv.FormatUint(n, 10)})
		}
	}
	for _, c := range infos {
		d.Rows = append(d.Rows, viewRow(NewRow(c, now), c))
	}
	var buf bytes.Buffer
	writePage(&buf, d)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	w.Write(buf.Bytes())
}

func viewRow(r Row, c governor.ConnInfo) rowView {
	v := rowView{
		ID:      r.ID,
		Remote:  r.Remote,
		Phase:   r.Phase,
		Request: r.Request,
		In:      bytesText(r.BytesIn),
		Out:     bytesText(r.BytesOut),
		Age:     secs(c.Age),
		Since:   secs(c.SinceProgress),
		Rule:    "—",
		Kernel:  "—",
		Hint:    Explain(c),
		Stuck:   Stuck(c),
	}
	if r.DeadlineInSeconds != nil {
		if in := *r.DeadlineInSeconds; in >= 0 {
			v.Rule = r.Rule + " in " + secs(seconds(in))
		} else {
			v.Rule = r.Rule + " " + secs(seconds(-in)) + " ago"
		}
	}
	if k := r.Kernel; k != nil {
		v.Kernel = kernelText(k)
	}
	if len(r.StreamRows) > 0 {
		parts := make([]string, len(r.StreamRows))
		for i, s := range r.StreamRows {
			parts[i] = fmt.Sprintf("#%d %s %s %s / %s", s.ID, s.Request, s.Phase, bytesText(s.BytesIn), bytesText(s.BytesOut))
		}
		v.Request = strings.Join(parts, "; ")
	}
	return v
}

// kernelText sums up the kernel's view for the page: what is stuck in the
// send queue if anything, else the round-trip time. app.js does the same.
func kernelText(k *Kernel) string {
	var s string
	if k.Unacked > 0 || k.Retransmits > 0 {
		s = "unacked " + strconv.FormatUint(uint64(k.Unacked), 10) +
			" (" + bytesText(int64(k.UnackedBytes)) + ") · retrans " + strconv.Itoa(int(k.Retransmits))
	} else {
		s = "rtt " + strconv.FormatFloat(k.RTTMillis, 'f', 2, 64) + " ms"
	}
	if k.SendWindow == 0 && k.State == "ESTABLISHED" {
		s += " · window 0"
	}
	return s
}

// uptimeText formats d as "3d 4h 5m", "4h 5m 6s" or "5m 6s".
func uptimeText(d time.Duration) string {
	s := int64(d / time.Second)
	days, h, m, sec := s/86400, s/3600%24, s/60%60, s%60
	switch {
	case days > 0:
		return strconv.FormatInt(days, 10) + "d " + strconv.FormatInt(h, 10) + "h " + strconv.FormatInt(m, 10) + "m"
	case h > 0:
		return strconv.FormatInt(h, 10) + "h " + strconv.FormatInt(m, 10) + "m " + strconv.FormatInt(sec, 10) + "s"
	}
	return strconv.FormatInt(m, 10) + "m " + strconv.FormatInt(sec, 10) + "s"
}

func (s *Server) serveAsset(w http.ResponseWriter, r *http.Request) {
	name := path.Base(r.URL.Path)
	b, err := ui.ReadFile("ui/" + name)
	if err != nil {
		writeError(w, http.StatusNotFound, "no asset "+name)
		return
	}
	ct := "text/css; charset=utf-8"
	if path.Ext(name) == ".js" {
		ct = "text/javascript; charset=utf-8"
	}
	h := w.Header()
	h.Set("Content-Type", ct)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

// explainEntry is the page's view of one connection that the Report does
// not carry: Explain's hint and Stuck.
type explainEntry struct {
	Hint  string `json:"hint,omitempty"`
	Stuck bool   `json:"stuck,omitempty"`
}

// serveEvents streams, every EventInterval, an "explain" event (hints by
// connection id) and a "conns" event (the Report of GET /conns). It ends
// when the client goes away, the request's context ends, the Server is
// closed, EventStreamLife has passed, or a write makes no progress within
// EventWriteTimeout. Where the ResponseWriter cannot set write deadlines it
// sends one event and ends, and the browser reconnects: no unbounded write.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	bounded := rc.SetWriteDeadline(time.Now().Add(EventWriteTimeout)) == nil
	defer rc.SetWriteDeadline(time.Time{})
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write([]byte("retry: 2000\n\n")); err != nil {
		return
	}
	life := time.NewTimer(EventStreamLife)
	defer life.Stop()
	tick := time.NewTicker(EventInterval)
	defer tick.Stop()
	ctx := r.Context()
	var buf bytes.Buffer
	for {
		buf.Reset()
		s.appendEvents(&buf)
		if bounded {
			if err := rc.SetWriteDeadline(time.Now().Add(EventWriteTimeout)); err != nil {
				return
			}
		}
		if _, err := w.Write(buf.Bytes()); err != nil {
			s.log.Debug("status: event stream ended", "remote", r.RemoteAddr, "err", err)
			return
		}
		if err := rc.Flush(); err != nil {
			if !errors.Is(err, http.ErrNotSupported) {
				s.log.Debug("status: event stream ended", "remote", r.RemoteAddr, "err", err)
			}
			return
		}
		if !bounded {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case <-life.C:
			return
		case <-tick.C:
		}
	}
}

// appendEvents writes one tick's events to buf.
func (s *Server) appendEvents(buf *bytes.Buffer) {
	infos, st, now := s.read()
	ex := make(map[string]explainEntry, len(infos))
	for _, c := range infos {
		if e := (explainEntry{Hint: Explain(c), Stuck: Stuck(c)}); e != (explainEntry{}) {
			ex[strconv.FormatUint(c.ID, 10)] = e
		}
	}
	rep := newReport(infos, st, now)
	buf.WriteString("event: explain\ndata: ")
	b, _ := json.Marshal(ex)
	buf.Write(b)
	buf.WriteString("\n\nevent: conns\ndata: ")
	b, _ = json.Marshal(rep)
	buf.Write(b)
	buf.WriteString("\n\n")
}
