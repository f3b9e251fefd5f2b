package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// asMainEnv makes the test binary run vigil's main instead of the tests, so
// a test can run "vigil ..." as a process, e.g. inside a network namespace.
const asMainEnv = "VIGIL_TEST_AS_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(asMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// startServe runs "vigil serve args..." and returns its base URL, read from
// the "listening" log line, and a function that stops it and returns run's
// error.
func startServe(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	base, _, stop := startRun(t, append([]string{"serve", "--listen", "127.0.0.1:0", "--admin", "off"}, args...)...)
	return base, stop
}

// startRun runs "vigil args..." (a serve command) and returns its base URL,
// its log as it grows, and a function that stops it and returns run's error.
func startRun(t *testing.T, args ...string) (string, *syncBuffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	logs := &syncBuffer{}
	go func() {
		err := run(ctx, args, io.Discard, pw)
		pw.Close()
		done <- err
	}()
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			logs.Write([]byte(sc.Text() + "\n"))
			if _, u, ok := strings.Cut(sc.Text(), "url="); ok && strings.Contains(sc.Text(), "listening") {
				select {
				case urls <- strings.TrimSpace(u):
				default:
				}
			}
		}
	}()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("serve did not stop within 15s of its context ending")
			return nil
		}
	}
	select {
	case u := <-urls:
		return u, logs, stop
	case err := <-done:
		t.Fatalf("serve exited before listening: %v", err)
	case <-time.After(5 * time.Second):
		stop()
		t.Fatal("serve did not log a listening line within 5s")
	}
	return "", nil, nil
}

func TestServe(t *testing.T) {
	t.Run("serves the embedded demo UI and stops when its context ends", func(t *testing.T) {
		base, stop := startServe(t, "--shutdown-timeout", "2s")
		client := &http.Client{Timeout: 5 * time.Second}
		defer client.CloseIdleConnections()
		resp, err := client.Get(base)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(strings.ToLower(string(body)), "<html") {
			t.Errorf("GET / = %d, body %.80q; want the demo UI", resp.StatusCode, body)
		}
		req, _ := http.NewRequest("GET", base+"logs/system.log", nil)
		req.Header.Set("Range", "bytes=0-99")
		resp, err = client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		part, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 206 || len(part) != 100 {
			t.Errorf("ranged GET of the demo log = %d with %d bytes, want 206 with 100", resp.StatusCode, len(part))
		}
		if err := stop(); err != nil {
			t.Errorf("serve returned %v after its context ended, want nil", err)
		}
	})
}

func TestConns(t *testing.T) {
	t.Run("shows a half-sent request and kills it by id", func(t *testing.T) {
		admin := "unix:" + filepath.Join(t.TempDir(), "admin.sock")
		base, stop := startServe(t, "--admin", admin)
		defer stop()
		u, _ := url.Parse(base)
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /slow HTTP/1.1\r\nHost: x\r\n")
		time.Sleep(100 * time.Millisecond)
		var out bytes.Buffer
		if err := run(context.Background(), []string{"conns", "--admin", admin}, &out, io.Discard); err != nil {
			t.Fatalf("conns: %v", err)
		}
		var id string
		for _, line := range strings.Split(out.String(), "\n") {
			if f := strings.Fields(line); len(f) > 2 && f[2] == "header" {
				id = f[0]
			}
		}
		if id == "" {
			t.Fatalf("no row in phase header:\n%s", out.String())
		}
		out.Reset()
		if err := run(context.Background(), []string{"conns", "--admin", admin, "kill", id}, &out, io.Discard); err != nil {
			t.Fatalf("conns kill %s: %v", id, err)
		}
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(make([]byte, 1)); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("killed connection still open: %v", err)
		}
		if err := run(context.Background(), []string{"conns", "--admin", admin, "kill", "999999"}, &out, io.Discard); err == nil {
			t.Error("killing an unknown id succeeded")
		}
	})

	t.Run("a missing admin endpoint is a clear error", func(t *testing.T) {
		err := run(context.Background(), []string{"conns", "--admin", "unix:" + filepath.Join(t.TempDir(), "none.sock")}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "admin endpoint") {
			t.Errorf("conns = %v, want an error naming the admin endpoint", err)
		}
	})
}

func TestUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"an unknown command is a usage error", []string{"frobnicate"}, "unknown command"},
		{"a malformed duration is a usage error", []string{"serve", "--stall-timeout", "soon"}, "stall-timeout"},
		{"a stray argument is a usage error", []string{"serve", "extra"}, "unexpected argument"},
		{"an unknown log level is a usage error", []string{"serve", "--log-level", "loud"}, "log-level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := run(context.Background(), tt.args, io.Discard, io.Discard)
			var ue usageError
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run(%q) = %v, want a usage error mentioning %q", tt.args, err, tt.want)
			}
		})
	}

	t.Run("a negative timeout is refused", func(t *testing.T) {
		err := run(context.Background(), []string{"serve", "--listen", "127.0.0.1:0", "--admin", "off", "--idle-timeout", "-1s"}, io.Discard, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "--idle-timeout") {
			t.Errorf("run = %v, want an error naming --idle-timeout", err)
		}
	})
}
