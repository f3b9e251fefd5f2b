package config

// Settings is the one declaration of every setting of `vigil serve`. From
// it come the serve flags (Flags), the keys of vigil.conf with their
// validation (Parse, Load), the file's example (Example,
// vigil.conf.example) and the README's table "What bounds what"
// (Markdown). Its tests check each entry against the vigil.Config or
// Command field it sets and the package options it reaches.
//
// To add a setting: add its field to vigil.Config (with the value it takes
// by default in vigil.DefaultConfig) and pass it on in vigil.New, add an
// entry here, then `go test ./config -update` rewrites the README table and
// the example file.
var Settings = []Setting{
	{Key: "header-timeout", Field: "HeaderTimeout", Kind: Duration, Bounds: "header",
		Options: []string{"governor.Options.HeaderTimeout"}, Section: "Bounds on the peer: every wait on it is bounded",
		Doc:  "total time allowed for a request header, from accept or from the first byte after keep-alive idle",
		More: "A byte-a-second slowloris is cut"},
	{Key: "stall-timeout", Field: "StallTimeout", Kind: Duration, Bounds: "body, write",
		Options: []string{"governor.Options.StallTimeout"}, Route: "stall-timeout",
		Doc: "longest wait without progress on a request body read or on any write (progress: what the peer acknowledges); the cut is a RST",
		More: "Writes go out in 64 KiB chunks (sendfile too); on Linux progress is what the peer *acknowledges* (TCP_INFO), so a slow reader lives and a stopped or vanished one is cut. " +
			"An alive peer whose window stays closed while it holds more than 2 MiB it was sent but has not read (a slow reader behind a big receive buffer: curl `--limit-rate` after a fast start holds 4–5 MiB and reopens its window only every minute or so) gets 4 × the stall timeout (`governor.Options.ZeroWindowTimeout`); a stopped reader holding that much looks the same and gets the same. " +
			"Also sets TCP keepalive (idle: stall/3, interval: stall/6, 4 probes). `TCP_USER_TIMEOUT` is not set while a connection lives (the kernel cannot tell a slow reader from a dead one): only at a graceful close, 1 s, to bound the orphan"},
	{Key: "min-rate", Field: "MinRate", Kind: Size, Unit: "bytes/s", Bounds: "body, write",
		Options: []string{"governor.Options.MinRate"}, Route: "min-rate", DefaultText: "0 (none)",
		Doc:  "minimum average rate of a request body or a response in bytes/s once started; 0: none",
		More: "As mod_reqtimeout: the stall timeout + 1 s per `min-rate` bytes"},
	{Key: "body-min-rate", Field: "BodyMinRate", Kind: Rate, Unit: "bytes/s", Bounds: "body",
		Options: []string{"governor.Options.BodyMinRate"}, DefaultText: "0 (= min-rate if set, else 500)",
		Doc:  "minimum average rate of a request body alone in bytes/s, after the stall timeout's grace; 0: min-rate if set, else 500; none (or -1): no minimum",
		More: "As mod_reqtimeout's body default: a body trickled below it is cut after the stall timeout plus 1 s per 500 bytes, even while it moves"},
	{Key: "transfer-timeout", Field: "TransferTimeout", Kind: Duration, Bounds: "body, write",
		Options: []string{"governor.Options.TransferTimeout"}, Route: "transfer-timeout", DefaultText: "0 (none)",
		Doc: "hard cap on one request body or one response; 0: none"},
	{Key: "idle-timeout", Field: "IdleTimeout", Kind: Duration, Bounds: "idle",
		Options: []string{"governor.Options.IdleTimeout"},
		Doc:     "keep-alive wait for the next request (closed gracefully); an HTTP/2 connection is idle while no stream is open"},
	{Key: "handler-timeout", Field: "HandlerTimeout", Kind: Duration, Bounds: "handler",
		Options: []string{"route.Policy.HandlerTimeout"}, Route: "handler-timeout",
		Doc:  "a handler's run time: the request context's deadline; overstayers are cut and their goroutine stack logged",
		More: "A handler still running 1 s later, and neither blocked on its peer nor moving data, has its connection cut (a slow download is bounded by the stall rules, not by this)"},
	{Key: "max-conns", Field: "MaxConns", Kind: Int, Bounds: "connections",
		Options: []string{"governor.Options.MaxConns"},
		Doc:     "open connections over all listeners (oldest idle evicted at the cap, else a fast 503); negative: no cap",
		More:    "At the cap a connection is evicted: one idle for 1 s or more, else the one waiting longest for its header or TLS handshake (a slowloris: a browser's keep-alive connection between two requests is kept), else the one idle longest. Out of file descriptors, a waiting connection gets the `503` from a descriptor held in reserve"},
	{Key: "max-conns-per-ip", Field: "MaxConnsPerIP", Kind: Int, Bounds: "connections",
		Options: []string{"governor.Options.MaxConnsPerIP"},
		Doc:     "open connections per remote IPv4 address or IPv6 /64 (as login throttling counts), same rules; negative: no cap"},
	{Key: "max-handlers", Field: "MaxHandlers", Kind: Int, Bounds: "handler",
		Options: []string{"httpd.Options.MaxHandlers"},
		Doc:     "handlers running at once over all clients; over it a request gets 503 with Retry-After at once; negative: no cap",
		More:    "One HTTP/2 connection carries up to 250 streams, each a handler, which the connection caps cannot see; a file that cannot be opened for want of descriptors is a `503`, never a `500`. CGI children of the whole server are capped at 32, fixed"},
	{Key: "max-handlers-per-ip", Field: "MaxHandlersPerIP", Kind: Int, Bounds: "handler",
		Options: []string{"httpd.Options.MaxHandlersPerIP"},
		Doc:     "handlers running at once for one client (IPv4 address or IPv6 /64), same rules; negative: no cap"},
	{Key: "body-limit", Field: "BodyLimit", Kind: Size, Unit: "bytes", Bounds: "body",
		Options: []string{"route.Policy.BodyLimit"}, Route: "limit-body",
		Doc: "largest request body (413 beyond)"},
	{Key: "shutdown-timeout", Field: "ShutdownTimeout", Kind: Duration, Bounds: "shutdown",
		Doc: "drain time on SIGTERM/SIGINT before the remaining connections are cut"},

	{Key: "listen", Field: "Listen", Kind: Addrs, Bounds: "listeners", Section: "Where it listens and what it serves",
		Doc:  "address to listen on: host:port, http://host:port or https://host:port ([v6]:port for IPv6); repeatable",
		More: "A bare port means localhost (`--listen 8082` is `localhost:8082`, and the log says so), `:8082` every interface"},
	{Key: "root", Field: "Root", Kind: Path, Bounds: "content", DefaultText: "embedded demo UI",
		Doc: "document root directory to serve; empty: the embedded demo device UI"},
	{Key: "upload-dir", Field: "UploadDir", Kind: Path, Bounds: "uploads", DefaultText: "none",
		Doc:  "where handler=upload routes without dir= store what they receive, and where every upload's temporary files go",
		More: "Written beside the target and renamed: never seen half-written. Under systemd: `/var/lib/vigil/uploads` (`StateDirectory=vigil`)"},

	{Key: "admin", Field: "Admin", Kind: Admin, Bounds: "admin", Section: "Operations",
		DefaultText: "unix:/run/vigil/admin-HOST-PORT.sock", Example: `"unix:/run/vigil/admin-localhost-8080.sock"`,
		Doc:  "the admin endpoint (status page, JSON API, metrics, pprof): unix:PATH (or a bare /PATH), or host:port on loopback; off for none",
		More: "The default socket is named after the first `--listen`, in the run directory (`$VIGIL_RUN_DIR`, else `/run/vigil` for root, else `$XDG_RUNTIME_DIR/vigil`). Never on the public listeners. One socket per instance, so a second `vigil serve --listen 127.0.0.1:8081` starts beside the first; an explicit `--admin` another server answers on is refused with the fix"},
	{Key: "admin-remote", Field: "AdminRemote", Kind: Bool, Bounds: "admin",
		Doc:  "allow --admin on a TCP address beyond loopback: it serves pprof and kills connections without authentication",
		More: "Refused otherwise; logged as a warning. Only on a network that is yours alone"},
	{Key: "access-log", Field: "AccessLogPath", Kind: AccessLog, Bounds: "log", DefaultText: "none",
		Doc:  "access log file (Combined Log Format + duration in µs + request body bytes), reopened on SIGHUP; - for standard output",
		More: "A stuck log drops lines, never blocks requests; SIGHUP reopens the file (logrotate's default rename)"},
	{Key: "log-level", Field: "LogLevel", Kind: LogLevel, Bounds: "log",
		Doc: "log level: debug, info, warn or error (debug shows every close with its cause)"},
	{Key: "log-format", Field: "LogFormat", Kind: LogFormat, Bounds: "log",
		Doc: "log format: text, or json for machines"},

	{Key: "route", Field: "Route", Kind: Path, Bounds: "routes", Section: "Routes and authentication", DefaultText: "none",
		Doc: "GoAhead route.txt: routes, handlers, auth, abilities and per-route limits"},
	{Key: "auth", Field: "Auth", Kind: Path, Bounds: "auth", DefaultText: "none",
		Doc: "GoAhead auth.txt: users, roles and abilities"},
	{Key: "realm", Field: "Realm", Kind: Realm, Bounds: "auth",
		Doc: "authentication realm (GoAhead's default, so its MD5 hashes verify)"},

	{Key: "tls-cert", Field: "TLSCert", Kind: Path, Bounds: "tls", Section: "TLS (for the https:// listen addresses)", DefaultText: "none",
		Doc: "certificate (PEM) for https:// listeners"},
	{Key: "tls-key", Field: "TLSKey", Kind: Path, Bounds: "tls", DefaultText: "none",
		Doc: "private key (PEM, readable by its owner only) for https:// listeners"},
	{Key: "tls-self-signed", Field: "TLSSelfSigned", Kind: Path, Bounds: "tls", DefaultText: "none",
		Doc: "directory where a device certificate (ECDSA P-256) is made on first start and reused after, instead of --tls-cert and --tls-key"},
	{Key: "tls-name", Field: "TLSNames", Kind: Names, Bounds: "tls", DefaultText: "none",
		Doc: "extra host name or address for the device certificate's SANs (it always has the host name, localhost and every interface address); repeatable"},
	{Key: "hsts", Field: "HSTS", Kind: Duration, Bounds: "tls", DefaultText: "0 (none)",
		Options: []string{"httpd.Options.HSTS"},
		Doc:     "Strict-Transport-Security max-age on TLS responses (8760h: a year); 0: none"},
}

// Setting is one setting: a serve flag and a vigil.conf key of the same
// name, and the field it sets.
type Setting struct {
	// Key is the flag's and the file key's name: "stall-timeout".
	Key string
	// Field is the vigil.Config field the setting sets, or else the
	// Command field.
	Field string
	// Kind is the value's type: its syntax in a flag and in the file, its
	// checks, and the Go type of Field.
	Kind *Kind
	// Unit is the unit of a number ("bytes", "bytes/s"); a duration's is
	// in its syntax.
	Unit string
	// Bounds is the phase of a connection or the feature the setting
	// bounds or configures: header, body, write, idle, handler,
	// connections, shutdown, listeners, content, admin, log, ...
	Bounds string
	// Doc says what the setting does, in one line: the flag's usage, the
	// example file's comment, the README's table.
	Doc string
	// More, if set, is what the README's table adds to Doc.
	More string
	// DefaultText, if set, is the default as the docs show it, where the
	// field's default value alone would not say it ("0 (none)", a path
	// made at run time).
	DefaultText string
	// Options lists where the value goes on (package.Type.Field), for the
	// reader and checked by the tests.
	Options []string
	// Route is the route.txt key that overrides the setting for one route,
	// if any.
	Route string
	// Example, if set, is the TOML value the example file shows, where
	// the default is made at run time.
	Example string
	// Section, if set, starts a group of settings in the example file.
	Section string
}

// Lookup returns the setting named key.
func Lookup(key string) (Setting, bool) {
	for _, s := range Settings {
		if s.Key == key {
			return s, true
		}
	}
	return Setting{}, false
}

// Keys returns every key, in the order of Settings.
func Keys() []string {
	keys := make([]string, len(Settings))
	for i, s := range Settings {
		keys[i] = s.Key
	}
	return keys
}
