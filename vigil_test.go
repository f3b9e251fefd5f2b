package vigil_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

// startLoopback serves cfg on a fresh loopback listener.
func startLoopback(t testing.TB, cfg vigil.Config) (*vigil.Server, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listeners = []net.Listener{ln}
	srv, err := vigil.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, ln.Addr().String()
}

func TestAdmin(t *testing.T) {
	t.Run("the admin socket serves the table and metrics, apart from the public listener", func(t *testing.T) {
		sock := filepath.Join(t.TempDir(), "admin.sock")
		var access syncBuf
		srv, addr := startLoopback(t, vigil.Config{Admin: "unix:" + sock, AccessLog: &access})
		c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		resp, err = c.Get("http://" + addr + "/conns")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("/conns on the public listener: %d, want 404", resp.StatusCode)
		}
		half, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer half.Close()
		io.WriteString(half, "GET /x HTTP/1.1\r\n")
		time.Sleep(100 * time.Millisecond)

		ac := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true,
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return (&net.Dialer{}).DialContext(ctx, "unix", sock)
			}}}
		defer ac.CloseIdleConnections()
		resp, err = ac.Get("http://vigil/conns")
		if err != nil {
			t.Fatal(err)
		}
		var rep struct {
			Conns []struct {
				Phase string `json:"phase"`
			} `json:"conns"`
		}
		json.NewDecoder(resp.Body).Decode(&rep)
		resp.Body.Close()
		if len(rep.Conns) != 1 || rep.Conns[0].Phase != "header" {
			t.Errorf("admin /conns = %+v, want the one half-sent request in phase header", rep)
		}
		resp, err = ac.Get("http://vigil/metrics")
		if err != nil {
			t.Fatal(err)
		}
		m, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if metricsBuilt && !strings.Contains(string(m), `vigil_requests_total{class="2xx"} 1`) {
			t.Errorf("metrics lack the one 2xx request:\n%.2000s", m)
		}
		srv.Close()
		if !strings.Contains(access.String(), `"GET / HTTP/1.1" 200`) {
			t.Errorf("access log lacks the request: %q", access.String())
		}
		if _, err := net.Dial("unix", sock); err == nil {
			t.Error("admin socket still answers after Close")
		}
	})

	t.Run("a second server cannot take a live admin socket", func(t *testing.T) {
		sock := "unix:" + filepath.Join(t.TempDir(), "admin.sock")
		startLoopback(t, vigil.Config{Admin: sock})
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		srv, err := vigil.New(vigil.Config{Listeners: []net.Listener{ln}, Admin: sock})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err == nil || !strings.Contains(err.Error(), "another server") {
			t.Errorf("Start = %v, want a refusal naming another server", err)
		}
	})

	t.Run("a Start that fails closes what it opened", func(t *testing.T) {
		free, _ := net.Listen("tcp", "127.0.0.1:0")
		freeAddr := free.Addr().String()
		free.Close()
		taken, _ := net.Listen("tcp", "127.0.0.1:0")
		defer taken.Close()
		given, _ := net.Listen("tcp", "127.0.0.1:0")
		srv, err := vigil.New(vigil.Config{Listeners: []net.Listener{given}, Listen: []string{freeAddr, taken.Addr().String()}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err == nil {
			t.Fatal("Start on a taken address succeeded")
		}
		for _, addr := range []string{freeAddr, given.Addr().String()} {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Errorf("%s still held after the failed Start: %v", addr, err)
				continue
			}
			ln.Close()
		}
	})

	t.Run("a Start that fails after binding closes every listener and the admin socket", func(t *testing.T) {
		var addrs []string
		for range 2 {
			l, _ := net.Listen("tcp", "127.0.0.1:0")
			addrs = append(addrs, l.Addr().String())
			l.Close()
		}
		sock := filepath.Join(t.TempDir(), "admin.sock")
		srv, err := vigil.New(vigil.Config{Listen: addrs, Admin: "unix:" + sock})
		if err != nil {
			t.Fatal(err)
		}
		srv.Close() // a closed server: serving its listeners fails once they are bound
		if err := srv.Start(); err == nil {
			t.Fatal("Start of a closed server succeeded")
		}
		for _, addr := range addrs {
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				t.Errorf("%s still held after the failed Start: %v", addr, err)
				continue
			}
			ln.Close()
		}
		if _, err := os.Stat(sock); err == nil {
			t.Errorf("admin socket %s left behind by the failed Start", sock)
		}
	})

	t.Run("the status server can be mounted elsewhere, e.g. behind auth", func(t *testing.T) {
		srv, _ := startLoopback(t, vigil.Config{})
		rec := httptest.NewRecorder()
		srv.Status().ServeHTTP(rec, httptest.NewRequest("GET", "/conns", nil))
		if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"conns":`) {
			t.Errorf("mounted status /conns: %d %.200s", rec.Code, rec.Body.String())
		}
	})

	t.Run("LogTable writes every connection with its cause", func(t *testing.T) {
		var logs syncBuf
		srv, addr := startLoopback(t, vigil.Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, "GET /x HTTP/1.1\r\n")
		time.Sleep(100 * time.Millisecond)
		srv.LogTable()
		if !strings.Contains(logs.String(), "open=1") || !strings.Contains(logs.String(), "phase=header") {
			t.Errorf("table log:\n%s", logs.String())
		}
	})
}
