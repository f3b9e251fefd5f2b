package status

import (
	"bytes"
	"html"
	"strconv"
)

// writePage writes the status page for d. It is written out by hand, every
// text escaped with html.EscapeString (which also escapes both quotes, so
// the same call serves quoted attribute values), instead of with
// html/template: that package's reflective method calls keep every exported
// method of the binary alive, over 2 MiB on a device build, and
// this page alone would pull it into every binary.
func writePage(b *bytes.Buffer, d pageData) {
	esc := func(s string) { b.WriteString(html.EscapeString(s)) }
	b.WriteString(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>vigil status</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="status/style.css">
<script src="status/app.js" defer></script>
</head>
<body data-events="status/events" data-conns="conns/" data-started="`)
	b.WriteString(strconv.FormatInt(d.StartedMS, 10))
	b.WriteString(`">
<header>
  <h1>vigil status <span id="live" class="live" title="live updates">static</span></h1>
  <p class="sub">up <span id="uptime">`)
	esc(d.Uptime)
	b.WriteString(`</span> · read at <time id="now">`)
	esc(d.Now)
	b.WriteString("</time></p>")
	if len(d.Info) > 0 {
		b.WriteString("\n  <dl class=\"info\">")
		for _, p := range d.Info {
			b.WriteString("\n    <div><dt>")
			esc(p.K)
			b.WriteString("</dt><dd>")
			esc(p.V)
			b.WriteString("</dd></div>")
		}
		b.WriteString("\n  </dl>")
	}
	b.WriteString(`
</header>
<main>
<section class="counters" aria-label="counters">
  <div><b id="c-open">`)
	b.WriteString(strconv.Itoa(d.Stats.Open))
	b.WriteString(`</b> open</div>
  <div><b id="c-accepted">`)
	b.WriteString(strconv.FormatUint(d.Stats.Accepted, 10))
	b.WriteString(`</b> accepted</div>
  <div><b id="c-refused">`)
	b.WriteString(strconv.FormatUint(d.Stats.Refused, 10))
	b.WriteString(`</b> refused</div>
  <div class="closed">closed: <span id="c-closed">`)
	for i, c := range d.Closed {
		if i > 0 {
			b.WriteString(", ")
		}
		esc(c.K)
		b.WriteByte(' ')
		esc(c.V)
	}
	if len(d.Closed) == 0 {
		b.WriteString("none")
	}
	b.WriteString(`</span></div>
</section>
<table id="conns">
  <thead>
    <tr><th>id</th><th>remote</th><th>phase</th><th>request</th><th>in / out</th><th>age</th><th>since progress</th><th>rule</th><th>kernel</th><th>hint</th><th class="act"></th></tr>
  </thead>
  <tbody id="conns-body">`)
	for _, r := range d.Rows {
		id := strconv.FormatUint(r.ID, 10)
		b.WriteString("\n    <tr data-conn-id=\"" + id + "\" data-phase=\"")
		esc(r.Phase)
		b.WriteByte('"')
		if r.Stuck {
			b.WriteString(` class="stuck"`)
		}
		b.WriteString(">\n      <td data-label=\"id\" class=\"id\">" + id + "</td>")
		cell := func(label, class, text string) {
			b.WriteString("\n      <td data-label=\"" + label + "\"")
			if class != "" {
				b.WriteString(" class=\"" + class + "\"")
			}
			b.WriteByte('>')
			esc(text)
			b.WriteString("</td>")
		}
		cell("remote", "", r.Remote)
		cell("phase", "phase", r.Phase)
		cell("request", "req", r.Request)
		cell("in / out", "num", r.In+" / "+r.Out)
		cell("age", "num", r.Age)
		cell("since progress", "num", r.Since)
		cell("rule", "num", r.Rule)
		cell("kernel", "num", r.Kernel)
		cell("hint", "hint", r.Hint)
		b.WriteString("\n      <td class=\"act\"><button type=\"button\" data-kill=\"" + id + "\">kill</button></td>\n    </tr>")
	}
	if len(d.Rows) == 0 {
		b.WriteString("\n    <tr class=\"empty\"><td colspan=\"11\">no open connections</td></tr>")
	}
	b.WriteString(`
  </tbody>
</table>
</main>
<footer><a href="conns">conns JSON</a> · <a href="handlers">handlers</a>`)
	if d.Metrics {
		b.WriteString(` · <a href="metrics">metrics</a>`)
	}
	if d.Pprof {
		b.WriteString(` · <a href="debug/pprof/">pprof</a>`)
	}
	b.WriteString("</footer>\n</body>\n</html>\n")
}
