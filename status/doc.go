// Package status owns vigil's diagnosis surface: the status page (an HTML
// dashboard that works on a phone and without JavaScript, kept live by
// server-sent events), the JSON API that the CLI's "vigil conns" reads, the
// Prometheus metrics and the pprof pages. It is meant to be served on a
// dedicated admin listener, at that listener's root.
//
// It reads the governor's connection Table (Snapshot, Stats) and makes one
// write to it: Kill, from POST /conns/{id}/kill. The HTTP layer feeds it
// through ObserveRequest and Options.Handlers; status never reaches into
// the HTTP layer.
//
// Routes served by (*Server).ServeHTTP:
//
//	GET  /                   redirect to status
//	GET  /status             the dashboard (server-rendered; app.js keeps it live)
//	GET  /status/events      server-sent events every second: hints, then the /conns document
//	GET  /status/app.js      the dashboard's script (no inline script: a strict CSP holds)
//	GET  /status/style.css   the dashboard's style sheet
//	GET  /conns              the live connection table as JSON (see Report)
//	POST /conns/{id}/kill    close a connection abortively
//	GET  /handlers           in-flight handlers as JSON, with stacks past ?threshold=
//	GET  /metrics            Prometheus text exposition
//	GET  /debug/pprof/...    the pages of net/http/pprof, served from runtime/pprof
//
// Build tags drop parts for the smallest devices: with -tags nometrics
// /metrics answers 404 and ObserveRequest does nothing; with -tags nopprof
// /debug/pprof/ answers 404. The status page then leaves out their links.
//
// Anything else is answered with a JSON error: {"error":"..."}.
//
// Package status imports only the standard library and package governor of
// this module; the metrics are written by hand in the Prometheus text format.
// It must not import the HTTP layer (httpd) or any other package of this
// module.
package status
