//go:build !nohangcheck

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/faultkit"
)

// startVigil starts an in-process vigil on a loopback port with 1s header,
// stall and idle timeouts, serving a root with a 4 MiB index.html and a
// directory "sub", and returns its base URL. The server is closed when the
// test ends.
func startVigil(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	page := "<html><body>" + strings.Repeat("vigil ", 4<<20/6) + "</body></html>\n"
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte(page), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := vigil.New(vigil.Config{
		Listeners:     []net.Listener{ln},
		Root:          root,
		HeaderTimeout: time.Second,
		StallTimeout:  time.Second,
		IdleTimeout:   time.Second,
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
		}
	})
	return "http://" + ln.Addr().String() + "/"
}

// knownBugs are replay cases vigil fails today, by name, with the reason. A
// known bug that starts passing fails TestReplayAgainstVigil so that it is
// removed from this list.
var knownBugs = map[string]string{}

func TestReplayAgainstVigil(t *testing.T) {
	base := startVigil(t)
	tg, err := resolveTarget(context.Background(), base, false)
	if err != nil {
		t.Fatal(err)
	}
	cases, err := faultkit.LoadReplay()
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 25 {
		t.Errorf("%d replay cases, want at least 25", len(cases))
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			got := tg.Replay(context.Background(), c)
			bug, known := knownBugs[c.Name]
			switch {
			case known && c.Accepts(got):
				t.Errorf("known bug fixed (got %s): remove it from knownBugs", got)
			case known:
				t.Logf("KNOWN BUG, not failing: got %s, want %s: %s", got, c.Expect, bug)
			case !c.Accepts(got):
				t.Errorf("got %s, want %s (%s)", got, c.Expect, c.Source)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), faultkit.ProbeTimeout)
	defer cancel()
	if status, _, err := tg.Probe(ctx); err != nil || status != 200 {
		t.Errorf("probe after the replay set = %d, %v; want 200", status, err)
	}
}

func TestHangcheckAgainstVigil(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario for a few seconds each")
	}
	base := startVigil(t)
	var out, errOut bytes.Buffer
	// The cable pulls run in a namespace of their own (TestHangcheckCablePull),
	// never on this host's loopback.
	// The h2-only scenarios need an https target (TestHangcheckTLS), the
	// WebSocket ones a WebSocket endpoint (TestHangcheckWebSocket).
	scenarios := strings.Join(slices.DeleteFunc(slices.Clone(faultkit.Scenarios), func(n string) bool {
		return slices.Contains(faultkit.CablePullScenarios, n) || slices.Contains(faultkit.H2Scenarios, n) || slices.Contains(faultkit.WSScenarios, n)
	}), ",")
	runErr := run(context.Background(), []string{"hangcheck", "--json", "--max-wait", "5s", "--conns", "50", "--scenarios", scenarios, base}, &out, &errOut)
	var rows []row
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
		t.Fatalf("output is not a JSON array of rows (run: %v): %v\n%s", runErr, err, out.String())
	}
	unexpected := 0
	for _, r := range rows {
		if !r.Problem {
			continue
		}
		if r.Scenario != "replay" {
			unexpected++
			continue
		}
		for _, c := range r.Cases {
			if _, known := knownBugs[c.Name]; !c.OK && !known {
				unexpected++
			}
		}
	}
	if (runErr != nil) != (unexpected > 0 || hasKnownBug(rows)) {
		t.Errorf("hangcheck returned %v with %d unexpected problems\n%s", runErr, unexpected, errOut.String())
	}
	if unexpected > 0 {
		t.Errorf("%d unexpected problems", unexpected)
	}
	got := map[string]row{}
	for _, r := range rows {
		got[r.Scenario] = r
	}
	const timeout = 1.0 // seconds: header, stall and idle
	for _, name := range strings.Split(scenarios, ",") {
		r, ok := got[name]
		if !ok {
			t.Errorf("no row for %s", name)
			continue
		}
		if !r.ProbeOK {
			t.Errorf("%s: probe not served: %+v", name, r)
		}
		switch r.Ended {
		case "fin", "rst", "open":
		default:
			t.Errorf("%s: ended %q, want fin, rst or open", name, r.Ended)
		}
		switch name {
		case "slowloris", "slow-body", "zero-window", "idle-hold":
			if r.Held > timeout+2 {
				t.Errorf("%s: held %.1fs, want at most %.0fs: %+v", name, r.Held, timeout+2, r)
			}
		}
	}
	if t.Failed() {
		t.Logf("output:\n%s", out.String())
	}
}

func TestHangcheckRefusesForeignTarget(t *testing.T) {
	// 198.18.0.1 is in the benchmark range; the check runs before any dial,
	// so no packet is sent.
	var out bytes.Buffer
	err := run(context.Background(), []string{"hangcheck", "--scenarios", "replay", "http://198.18.0.1:8080/"}, &out, &out)
	if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "--i-own-this-target") {
		t.Errorf("hangcheck of 198.18.0.1 = %v, want a usage error naming --i-own-this-target", err)
	}
}

func TestHangcheckUsage(t *testing.T) {
	for _, args := range [][]string{
		{"http://127.0.0.1:1/", "extra"},
		{"--scenarios", "slowloris,nope", "http://127.0.0.1:1/"},
		{"--conns", "20000", "http://127.0.0.1:1/"},
		{"ftp://127.0.0.1:1/"},
		{"--modes", "http1,h3", "http://127.0.0.1:1/"},
		{"--timeouts", "stall=30", "http://127.0.0.1:1/"},
		{"--timeouts", "stall=30s", "--admin", "unix:/x", "http://127.0.0.1:1/"},
		{},
	} {
		err := run(context.Background(), append([]string{"hangcheck"}, args...), io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) {
			t.Errorf("hangcheck %q = %v, want a usage error", args, err)
		}
	}
}

// hasKnownBug reports whether a replay row failed a case listed in knownBugs.
func hasKnownBug(rows []row) bool {
	for _, r := range rows {
		for _, c := range r.Cases {
			if _, known := knownBugs[c.Name]; known && !c.OK {
				return true
			}
		}
	}
	return false
}

// startVigilTLS is startVigil with an https listener as well (a self-signed
// certificate, HTTP/2 by ALPN); it returns the http and https base URLs.
func startVigilTLS(t *testing.T) (string, string) {
	t.Helper()
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "index.html"), []byte("<p>up</p>\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	big, err := os.Create(filepath.Join(root, "big.bin"))
	if err != nil {
		t.Fatal(err)
	}
	big.Truncate(16 << 20)
	big.Close()
	srv, err := vigil.New(vigil.Config{
		Listen:        []string{"127.0.0.1:0", "https://127.0.0.1:0"},
		TLSSelfSigned: t.TempDir(),
		Root:          root,
		HeaderTimeout: time.Second,
		StallTimeout:  time.Second,
		IdleTimeout:   time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	a := srv.Addrs()
	return "http://" + a[0].String() + "/", "https://" + a[1].String() + "/"
}

func TestHangcheckTLS(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario over TLS and HTTP/2 for a second or two each")
	}
	_, https := startVigilTLS(t)
	t.Run("a self-signed target needs --insecure", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"hangcheck", "--scenarios", "slowloris", https}, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "--insecure") {
			t.Errorf("hangcheck without --insecure = %v, want an error naming --insecure", err)
		}
	})
	t.Run("every scenario runs over https1 and h2 and finds no problem against vigil", func(t *testing.T) {
		var out, errOut bytes.Buffer
		scenarios := "slowloris,slow-body,zero-window,reset-mid-response,idle-hold," + strings.Join(faultkit.H2Scenarios, ",")
		runErr := run(context.Background(), []string{"hangcheck", "--json", "--insecure", "--max-wait", "15s", "--large", "/big.bin",
			"--timeouts", "header=1s,stall=1s,idle=1s", "--scenarios", scenarios, https}, &out, &errOut)
		var rows []row
		if err := json.Unmarshal(out.Bytes(), &rows); err != nil {
			t.Fatalf("output is not a JSON array of rows (run: %v): %v\n%s", runErr, err, out.String())
		}
		got := map[string]row{}
		for _, r := range rows {
			got[r.Mode+" "+r.Scenario] = r
			t.Logf("%-6s %-22s held %.2fs ended %-4s probe %v %dms problem %q: %s", r.Mode, r.Scenario, r.Held, r.Ended, r.ProbeOK, r.ProbeMS, r.Why, r.Detail)
			if r.Problem {
				t.Errorf("%s %s: problem %q: %+v", r.Mode, r.Scenario, r.Why, r)
			}
		}
		for _, name := range strings.Split(scenarios, ",") {
			for _, m := range []string{"https1", "h2"} {
				r, ok := got[m+" "+name]
				switch {
				case !ok && (m == "h2" || !slices.Contains(faultkit.H2Scenarios, name)):
					t.Errorf("no row for %s %s", m, name)
				case ok && m == "https1" && slices.Contains(faultkit.H2Scenarios, name):
					t.Errorf("an h2-only scenario ran in https1: %+v", r)
				}
			}
		}
		for _, name := range []string{"slowloris", "slow-body", "zero-window", "idle-hold"} {
			for _, m := range []string{"https1", "h2"} {
				if r := got[m+" "+name]; r.Held > 3 {
					t.Errorf("%s %s: held %.1fs, want at most 3s (1 s bounds): %+v", m, name, r.Held, r)
				}
			}
		}
		if (runErr != nil) != t.Failed() {
			t.Errorf("hangcheck returned %v\n%s", runErr, errOut.String())
		}
	})
	t.Run("a max-wait shorter than the target's bounds is said, not reported as a problem", func(t *testing.T) {
		var out, errOut bytes.Buffer
		err := run(context.Background(), []string{"hangcheck", "--json", "--insecure", "--max-wait", "1s",
			"--timeouts", "header=30s,idle=30s", "--scenarios", "slowloris,idle-hold", https}, &out, &errOut)
		var rows []row
		if jerr := json.Unmarshal(out.Bytes(), &rows); jerr != nil || err != nil || len(rows) != 4 {
			t.Fatalf("hangcheck = %v, %d rows (%v)\n%s", err, len(rows), jerr, errOut.String())
		}
		for _, r := range rows {
			if r.Problem || !strings.Contains(r.Note, "--max-wait 1s < the target's") {
				t.Errorf("%s %s: %+v, want no problem and a note on --max-wait", r.Mode, r.Scenario, r)
			}
		}
		if !strings.Contains(errOut.String(), "shorter than the target's own header timeout 30s, idle timeout 30s") {
			t.Errorf("stderr %q, want the note on --max-wait", errOut.String())
		}
	})
}

func TestParseTimeouts(t *testing.T) {
	got, err := parseTimeouts("header=10s,stall=30s,idle=1m")
	if err != nil || got.header != 10*time.Second || got.stall != 30*time.Second || got.idle != time.Minute {
		t.Errorf("parseTimeouts = %+v, %v", got, err)
	}
	for _, bad := range []string{"", "stall", "stall=0s", "stall=-1s", "nope=1s", "stall=30"} {
		if _, err := parseTimeouts(bad); err == nil {
			t.Errorf("parseTimeouts(%q) succeeded", bad)
		}
	}
	if d, what := got.needs("cable-pull-idle"); d != 90*time.Second || what != "idle + stall" {
		t.Errorf("needs(cable-pull-idle) = %v %q", d, what)
	}
	if d, _ := got.needs("h2-rapid-reset"); d != 0 {
		t.Errorf("needs(h2-rapid-reset) = %v, want 0: no bound of the target applies", d)
	}
}

func TestAdminTimeouts(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "admin.sock")
	srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0"}, Admin: "unix:" + sock,
		Info: map[string]string{"header-timeout": "3s", "stall-timeout": "7s", "idle-timeout": "11s"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	got, err := adminTimeouts(context.Background(), "unix:"+sock)
	if err != nil || got.header != 3*time.Second || got.stall != 7*time.Second || got.idle != 11*time.Second {
		t.Errorf("adminTimeouts = %+v, %v; want 3s, 7s, 11s from the status page", got, err)
	}
}

func TestHangcheckSaysWhenH2IsNotOffered(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "up\n") }))
	ts.Config.IdleTimeout = 300 * time.Millisecond
	ts.StartTLS() // HTTP/1.1 only: EnableHTTP2 is unset
	defer ts.Close()
	var out, errOut bytes.Buffer
	err := run(context.Background(), []string{"hangcheck", "--json", "--insecure", "--max-wait", "3s", "--scenarios", "idle-hold",
		"https://" + ts.Listener.Addr().String() + "/"}, &out, &errOut)
	var rows []row
	if jerr := json.Unmarshal(out.Bytes(), &rows); err != nil || jerr != nil || len(rows) != 1 || rows[0].Mode != "https1" {
		t.Fatalf("hangcheck = %v, rows %+v (%v)\n%s", err, rows, jerr, errOut.String())
	}
	if !strings.Contains(errOut.String(), "does not offer h2") {
		t.Errorf("stderr %q, want a note that h2 is not offered", errOut.String())
	}
}
