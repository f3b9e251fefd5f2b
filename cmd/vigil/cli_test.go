package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/config"
)

// syncBuffer is a bytes.Buffer safe for one writer and many readers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor polls cond every 10 ms for at most 5 s and fails with what when
// it never holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("waited 5s for %s", what)
}

func runOut(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var o, e bytes.Buffer
	err = run(t.Context(), args, &o, &e)
	return o.String(), e.String(), err
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		t.Run(strings.Join(args, " ")+" prints the module version, commit and Go version", func(t *testing.T) {
			out, _, err := runOut(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			v := readVersion()
			if !strings.HasPrefix(out, "vigil "+v.Module+", ") || !strings.Contains(out, runtime.Version()) ||
				!(strings.Contains(out, "commit ") || strings.Contains(out, "unknown commit")) {
				t.Errorf("%q printed %q", args, out)
			}
		})
	}
	t.Run("a devel build shows its commit, not (devel)", func(t *testing.T) {
		v := version{Module: "(devel)", Revision: "0123456789abcdef0123", Modified: true}
		if got := v.String(); got != "commit 0123456789ab (modified)" {
			t.Errorf("String() = %q", got)
		}
		if got := (version{Module: "v1.2.3", Revision: "abc"}).String(); got != "v1.2.3" {
			t.Errorf("String() of a tagged build = %q", got)
		}
	})
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}} {
		t.Run(strings.Join(args, " ")+" lists every command", func(t *testing.T) {
			out, _, err := runOut(t, args...)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []string{"serve", "conns", "passwd", "cert", "hangcheck", "version", "help"} {
				if !strings.Contains(out, "\n  "+c+" ") {
					t.Errorf("%q does not list %s:\n%s", args, c, out)
				}
			}
		})
	}
	t.Run("help serve and serve --help print the serve flags", func(t *testing.T) {
		out, _, err := runOut(t, "help", "serve")
		if err != nil || !strings.Contains(out, "-upload-dir") || !strings.Contains(out, "-listen") {
			t.Errorf("help serve = %v:\n%s", err, out)
		}
		_, errOut, err := runOut(t, "serve", "--help")
		if !errors.Is(err, flag.ErrHelp) || !strings.Contains(errOut, "-stall-timeout") {
			t.Errorf("serve --help = %v:\n%s", err, errOut)
		}
	})
	t.Run("help of an unknown command is a usage error", func(t *testing.T) {
		_, _, err := runOut(t, "help", "frob")
		if !errors.As(err, new(usageError)) {
			t.Errorf("help frob = %v", err)
		}
	})
}

func TestFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a duration without a unit says to add one", []string{"serve", "--stall-timeout", "30"}, "--stall-timeout 30: a duration needs a unit, e.g. 30s"},
		{"a malformed duration shows how to write one", []string{"serve", "--idle-timeout", "soon"}, "--idle-timeout soon: not a duration; write e.g. 30s, 500ms or 2m"},
		{"an unknown flag suggests the nearest", []string{"serve", "--stal-timeout", "3s"}, "unknown flag --stal-timeout: did you mean --stall-timeout? (vigil serve --help lists them)"},
		{"a flag without its value says so", []string{"serve", "--listen"}, "--listen needs a value"},
		{"an integer flag wants a number", []string{"serve", "--max-conns", "many"}, "--max-conns many: want a whole number"},
		{"a size takes a unit, and its error says so", []string{"serve", "--body-limit", "big"}, "--body-limit big: want bytes, a whole number or with a unit"},
		{"a negative size is refused by its flag", []string{"serve", "--body-limit", "-5"}, "--body-limit -5: must not be negative (0 means the default)"},
		{"a boolean flag says how to write it", []string{"serve", "--admin-remote=maybe"}, "--admin-remote=maybe: want --admin-remote or --admin-remote=false"},
		{"conns takes a flag error the same way", []string{"conns", "--watch", "1"}, "--watch 1: a duration needs a unit, e.g. 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, err := runOut(t, tt.args...)
			if !errors.As(err, new(usageError)) || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want a usage error starting %q", tt.args, err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") || errOut != "" {
				t.Errorf("want one line and no usage dump; error %q, stderr %q", err, errOut)
			}
		})
	}
	t.Run("main prints vigil: once, however deep the error", func(t *testing.T) {
		_, _, err := runOut(t, "serve", "--admin", "off", "--listen", "127.0.0.1:0", "--root", filepath.Join(t.TempDir(), "none"))
		if err == nil {
			t.Fatal("a missing root was accepted")
		}
		line := errorLine(err)
		if strings.Count(line, "vigil:") != 1 || !strings.HasPrefix(line, "vigil: root:") {
			t.Errorf("errorLine = %q", line)
		}
	})
}

func TestListenAndAdminAddresses(t *testing.T) {
	t.Run("a bare port means localhost:PORT, and the log says so", func(t *testing.T) {
		cfg := vigil.Config{Listen: []string{"8082", ":8083", "https://[::1]:8443"}, TLSSelfSigned: "x", Admin: "off"}
		var logs syncBuffer
		if err := checkServe(&cfg, &config.Command{}, newTestLogger(&logs)); err != nil {
			t.Fatal(err)
		}
		if want := []string{"localhost:8082", ":8083", "https://[::1]:8443"}; fmt.Sprint(cfg.Listen) != fmt.Sprint(want) {
			t.Errorf("Listen = %q, want %q", cfg.Listen, want)
		}
		if !strings.Contains(logs.String(), "a bare port listens on localhost only; write :8082 for every interface") {
			t.Errorf("log: %s", logs.String())
		}
	})
	t.Run("a bare port serves on loopback", func(t *testing.T) {
		base, _, stop := startRun(t, "serve", "--listen", "0", "--admin", "off")
		defer stop()
		if !strings.Contains(base, "127.0.0.1:") && !strings.Contains(base, "[::1]:") {
			t.Errorf("--listen 0 listens on %s, want loopback", base)
		}
	})
	t.Run("conns --admin takes a bare socket path", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "admin.sock")
		_, _, stop := startRun(t, "serve", "--listen", "127.0.0.1:0", "--admin", sock)
		defer stop()
		out, _, err := runOut(t, "conns", "--admin", sock)
		if err != nil || !strings.Contains(out, "open,") {
			t.Errorf("conns --admin %s = %v:\n%s", sock, err, out)
		}
	})
	t.Run("an admin endpoint beyond loopback is refused unless --admin-remote", func(t *testing.T) {
		_, _, err := runOut(t, "serve", "--listen", "127.0.0.1:0", "--admin", "192.0.2.1:9000", "--check")
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "--admin-remote") || !strings.Contains(err.Error(), "without authentication") {
			t.Errorf("--admin 192.0.2.1:9000 = %v", err)
		}
		_, errOut, err := runOut(t, "serve", "--listen", "127.0.0.1:0", "--admin", "192.0.2.1:9000", "--admin-remote", "--check")
		if err != nil || !strings.Contains(errOut, "level=WARN") || !strings.Contains(errOut, "listens beyond this machine") {
			t.Errorf("--admin-remote = %v; log:\n%s", err, errOut)
		}
		for _, ok := range []string{"127.0.0.1:9000", "[::1]:9000", "localhost:9000"} {
			if _, _, err := runOut(t, "serve", "--listen", "127.0.0.1:0", "--admin", ok, "--check"); err != nil {
				t.Errorf("--admin %s = %v", ok, err)
			}
		}
	})
}

// freePort returns a loopback address nobody listens on just now.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestTwoInstances(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("VIGIL_RUN_DIR", dir)
	a, b := freePort(t), freePort(t)
	_, _, stopA := startRun(t, "serve", "--listen", a)
	_, _, stopB := startRun(t, "serve", "--listen", b)
	sockA := filepath.Join(dir, "admin-"+strings.ReplaceAll(a, ":", "-")+".sock")
	sockB := filepath.Join(dir, "admin-"+strings.ReplaceAll(b, ":", "-")+".sock")
	for _, s := range []string{sockA, sockB} {
		if _, err := os.Stat(s); err != nil {
			t.Errorf("no admin socket per instance: %v", err)
		}
	}
	t.Run("conns asks which when several answer", func(t *testing.T) {
		_, _, err := runOut(t, "conns")
		if err == nil || !strings.Contains(err.Error(), "2 vigil servers answer") ||
			!strings.Contains(err.Error(), "--admin "+sockA) || !strings.Contains(err.Error(), "--admin "+sockB) {
			t.Errorf("conns with two servers = %v", err)
		}
	})
	t.Run("an explicit --admin that is taken is refused with the fix", func(t *testing.T) {
		_, _, err := runOut(t, "serve", "--listen", freePort(t), "--admin", "unix:"+sockA)
		if err == nil || !strings.Contains(err.Error(), "another server answers there: stop it, or give this one another --admin") {
			t.Errorf("serve on a taken --admin = %v", err)
		}
	})
	if err := stopB(); err != nil {
		t.Fatal(err)
	}
	t.Run("conns finds the one instance left", func(t *testing.T) {
		out, _, err := runOut(t, "conns")
		if err != nil || !strings.Contains(out, "open,") {
			t.Errorf("conns with one server = %v:\n%s", err, out)
		}
	})
	if err := stopA(); err != nil {
		t.Fatal(err)
	}
	t.Run("conns says where it looked when none answers", func(t *testing.T) {
		_, _, err := runOut(t, "conns")
		if err == nil || !strings.Contains(err.Error(), "no vigil server answers in "+dir) {
			t.Errorf("conns with no server = %v", err)
		}
	})
}

func TestTLSFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"--tls-self-signed without an https listener says to add one", []string{"--tls-self-signed", "certs"}, "add --listen https://localhost:8443"},
		{"an https listener without a certificate names the flags", []string{"--listen", "https://127.0.0.1:0", "--admin", "off"}, "give --tls-cert FILE --tls-key FILE, or --tls-self-signed DIR"},
		{"a certificate without its key", []string{"--listen", "https://127.0.0.1:0", "--tls-cert", "c.pem"}, "--tls-cert needs --tls-key"},
		{"both kinds of certificate", []string{"--listen", "https://127.0.0.1:0", "--tls-cert", "c.pem", "--tls-key", "k.pem", "--tls-self-signed", "d"}, "give --tls-cert/--tls-key or --tls-self-signed, not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runOut(t, append([]string{"serve", "--check"}, tt.args...)...)
			if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("serve %q = %v, want %q", tt.args, err, tt.want)
			}
		})
	}
	t.Run("--tls-self-signed with an https listener serves TLS", func(t *testing.T) {
		_, _, err := runOut(t, "serve", "--check", "--listen", "https://127.0.0.1:0", "--tls-self-signed", t.TempDir())
		if err != nil {
			t.Errorf("--check = %v", err)
		}
	})
}

func TestAccessLogReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	base, logs, stop := startRun(t, "serve", "--listen", "127.0.0.1:0", "--admin", "off", "--access-log", path)
	defer stop()
	client := &http.Client{Timeout: 5 * time.Second}
	defer client.CloseIdleConnections()
	get := func(p string) {
		resp, err := client.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	contains := func(file, s string) func() bool {
		return func() bool { b, _ := os.ReadFile(file); return bytes.Contains(b, []byte(s)) }
	}
	get("before-rotate")
	waitFor(t, "the first line in access.log", contains(path, "/before-rotate"))
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reopen log line", func() bool { return strings.Contains(logs.String(), "access log reopened") })
	get("after-rotate")
	waitFor(t, "the new line in a new access.log", contains(path, "/after-rotate"))
	if contains(path, "/before-rotate")() || contains(path+".1", "/after-rotate")() || !contains(path+".1", "/before-rotate")() {
		t.Error("lines went to the wrong file")
	}
}

func TestPasswordRules(t *testing.T) {
	file := filepath.Join(t.TempDir(), "auth.txt")
	t.Run("a password under 8 characters is refused without --force", func(t *testing.T) {
		err := passwd(context.Background(), []string{"--file", file, "--password", "short", "joe"}, nil, io.Discard, io.Discard)
		if !errors.As(err, new(usageError)) || !strings.Contains(err.Error(), "at least 8, or add --force") {
			t.Errorf("passwd = %v", err)
		}
		if _, err := os.Stat(file); err == nil {
			t.Error("the file was written")
		}
		if err := passwd(context.Background(), []string{"--file", file, "--password", "short", "--force", "joe"}, nil, io.Discard, io.Discard); err != nil {
			t.Errorf("--force: %v", err)
		}
	})
	t.Run("on a terminal it reads without echo and asks twice", func(t *testing.T) {
		master, slave := openPTY(t)
		prompts := &syncBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- passwd(context.Background(), []string{"--file", file, "mary"}, slave, io.Discard, prompts)
		}()
		waitFor(t, "the first prompt", func() bool { return strings.Contains(prompts.String(), "password for mary: ") })
		io.WriteString(master, "correct horse\n")
		waitFor(t, "the second prompt", func() bool { return strings.Contains(prompts.String(), "again: ") })
		io.WriteString(master, "correct horse\n")
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("passwd did not return within 5s")
		}
		master.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		echoed, _ := io.ReadAll(master)
		if bytes.Contains(echoed, []byte("horse")) {
			t.Errorf("the terminal echoed the password: %q", echoed)
		}
		b, _ := os.ReadFile(file)
		if !strings.Contains(string(b), "user name=mary password=$2") {
			t.Errorf("auth.txt:\n%s", b)
		}
	})
	t.Run("two different passwords change nothing", func(t *testing.T) {
		master, slave := openPTY(t)
		prompts := &syncBuffer{}
		done := make(chan error, 1)
		go func() {
			done <- passwd(context.Background(), []string{"--file", file, "peter"}, slave, io.Discard, prompts)
		}()
		waitFor(t, "the first prompt", func() bool { return strings.Contains(prompts.String(), "password for peter: ") })
		io.WriteString(master, "first one is long\n")
		waitFor(t, "the second prompt", func() bool { return strings.Contains(prompts.String(), "again: ") })
		io.WriteString(master, "second is different\n")
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), "differ") {
				t.Errorf("passwd = %v, want the passwords differ", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("passwd did not return within 5s")
		}
		if b, _ := os.ReadFile(file); strings.Contains(string(b), "peter") {
			t.Error("peter was added")
		}
	})
}

func newTestLogger(w io.Writer) *slog.Logger {
	l, _ := newLogger(w, "debug", "text")
	return l
}

// goaheadHome writes a GoAhead home: route.txt with GoAhead's own CGI line
// and an upload route, cgi-bin/hello, and the document root web/.
func goaheadHome(t *testing.T, routes string) string {
	t.Helper()
	home := t.TempDir()
	os.MkdirAll(filepath.Join(home, "web"), 0o755)
	os.MkdirAll(filepath.Join(home, "cgi-bin"), 0o755)
	os.WriteFile(filepath.Join(home, "web", "index.html"), []byte("<p>home</p>\n"), 0o644)
	os.WriteFile(filepath.Join(home, "cgi-bin", "hello"), []byte("#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\n\\r\\nhello from cgi\\n'\n"), 0o755)
	os.WriteFile(filepath.Join(home, "route.txt"), []byte(routes), 0o644)
	return home
}

func TestGoAheadLines(t *testing.T) {
	const routes = "route uri=/cgi-bin dir=cgi-bin handler=cgi\nroute uri=/upload methods=POST handler=upload\nroute uri=/\n"
	t.Run("--check fails an upload route with nowhere to store files", func(t *testing.T) {
		home := goaheadHome(t, routes)
		_, _, err := runOut(t, "serve", "--check", "--admin", "off", "--root", filepath.Join(home, "web"), "--route", filepath.Join(home, "route.txt"))
		if err == nil || !strings.Contains(err.Error(), "route.txt:2: handler=upload: nowhere to store the files: give the route dir= or --upload-dir") {
			t.Errorf("--check = %v", err)
		}
	})
	t.Run("--check reports every rule that cannot work", func(t *testing.T) {
		home := goaheadHome(t, "route uri=/cgi-bin dir=nothere handler=cgi\nroute uri=/action/reboot handler=action\nroute uri=/old handler=redirect\nroute uri=/admin auth=basic\nroute uri=/up handler=upload dir=missing\nroute uri=/\n")
		_, _, err := runOut(t, "serve", "--check", "--admin", "off", "--root", filepath.Join(home, "web"), "--route", filepath.Join(home, "route.txt"))
		for _, want := range []string{
			"route.txt:1: handler=cgi: no programs directory " + filepath.Join(home, "nothere", "cgi-bin"),
			`route.txt:2: handler=action: no action "reboot" registered`,
			"route.txt:3: handler=redirect without redirect=",
			"route.txt:4: needs users",
			"route.txt:5: handler=upload: the directory to store files in, " + filepath.Join(home, "missing") + ", does not exist",
		} {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("--check = %v\nwant it to contain %q", err, want)
			}
		}
	})
	t.Run("GoAhead's CGI line runs programs from HOME/cgi-bin and the upload route stores files", func(t *testing.T) {
		home := goaheadHome(t, routes)
		uploads := filepath.Join(t.TempDir(), "uploads")
		os.Mkdir(uploads, 0o700)
		base, logs, stop := startRun(t, "serve", "--listen", "127.0.0.1:0", "--admin", "off", "--log-level", "debug",
			"--root", filepath.Join(home, "web"), "--route", filepath.Join(home, "route.txt"), "--upload-dir", uploads)
		defer stop()
		client := &http.Client{Timeout: 5 * time.Second}
		defer client.CloseIdleConnections()
		resp, err := client.Get(base + "cgi-bin/hello")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || string(body) != "hello from cgi\n" {
			t.Errorf("GET /cgi-bin/hello = %d %q", resp.StatusCode, body)
		}
		resp, err = client.Get(base + "cgi-bin/missing")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("GET /cgi-bin/missing = %d", resp.StatusCode)
		}
		waitFor(t, "a Debug line for the missing program", func() bool {
			return strings.Contains(logs.String(), "request not served") && strings.Contains(logs.String(), "route.txt:1") &&
				strings.Contains(logs.String(), "no executable program "+filepath.Join(home, "cgi-bin", "missing"))
		})

		var mb bytes.Buffer
		mw := multipart.NewWriter(&mb)
		fw, _ := mw.CreateFormFile("image", "fw.bin")
		fw.Write([]byte("firmware bytes"))
		mw.Close()
		resp, err = client.Post(base+"upload", mw.FormDataContentType(), &mb)
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 201 || !strings.Contains(string(body), "fw.bin") {
			t.Errorf("POST /upload = %d %q", resp.StatusCode, body)
		}
		if b, err := os.ReadFile(filepath.Join(uploads, "fw.bin")); err != nil || string(b) != "firmware bytes" {
			t.Errorf("stored file: %q, %v", b, err)
		}
	})
}

func TestStatusInfo(t *testing.T) {
	t.Run("the summary spells out defaults as they are in effect", func(t *testing.T) {
		info := buildInfo(vigil.Config{})
		if info["listen"] != "localhost:8080" || info["body-min-rate"] != "500" || info["version"] == "" || info["version"] == "(devel)" {
			t.Errorf("buildInfo(zero) = %v", info)
		}
		if got := buildInfo(vigil.Config{MinRate: 1000})["body-min-rate"]; got != "1000" {
			t.Errorf("body-min-rate with --min-rate 1000 = %q", got)
		}
		if got := buildInfo(vigil.Config{BodyMinRate: -1})["body-min-rate"]; got != "none" {
			t.Errorf("body-min-rate -1 = %q", got)
		}
	})
	t.Run("the status page shows them", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "admin.sock")
		_, _, stop := startRun(t, "serve", "--listen", "127.0.0.1:0", "--admin", sock)
		defer stop()
		body, err := adminDo(t.Context(), adminEndpoint{"unix", sock}, "GET", "/status")
		if err != nil {
			t.Fatal(err)
		}
		page := string(body)
		for _, want := range []string{">body-min-rate<", ">500<", ">listen<", ">127.0.0.1:0<", ">version<"} {
			if !strings.Contains(page, want) {
				t.Errorf("the status page lacks %q", want)
			}
		}
		if strings.Contains(page, ">(devel)<") {
			t.Error("the status page shows a bare (devel)")
		}
	})
}
