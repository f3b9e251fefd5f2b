package vigil_test

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/tlsconf"
)

func TestHTTPS(t *testing.T) {
	t.Run("an https listener with a device certificate serves HTTP/2, and the fingerprint matches", func(t *testing.T) {
		dir := t.TempDir()
		srv, err := vigil.New(vigil.Config{Listen: []string{"https://127.0.0.1:0"}, TLSSelfSigned: dir, HSTS: 24 * time.Hour,
			TLSNames: []string{"router.example"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		pem, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
		if err != nil {
			t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, ServerName: "localhost"}, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
		resp, err := c.Get("https://" + srv.Addrs()[0].String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if cs := resp.TLS; cs == nil || !slices.Contains(cs.PeerCertificates[0].DNSNames, "router.example") {
			t.Error("the device certificate lacks the configured name router.example")
		}
		if resp.Header.Get("Strict-Transport-Security") != "max-age=86400" {
			t.Errorf("HSTS header %q, want max-age=86400", resp.Header.Get("Strict-Transport-Security"))
		}
		wantMajor := 2
		if !httpd.HTTP2 { // -tags nethttpomithttp2: HTTP/1.1 only
			wantMajor = 1
		}
		if resp.ProtoMajor != wantMajor || !strings.Contains(strings.ToLower(string(b)), "<html") {
			t.Errorf("got %s %d, want the demo UI over HTTP/%d", resp.Proto, resp.StatusCode, wantMajor)
		}
		// What "vigil cert --tls-self-signed DIR" prints.
		certs, err := tlsconf.Load(tlsconf.Options{SelfSignedDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if fp := certs.Fingerprint(); len(fp) != 95 {
			t.Errorf("fingerprint %q", fp)
		}
		if srv.Governor().Stats().Accepted == 0 {
			t.Error("the TLS connection was not governed")
		}
	})

	t.Run("protocol=http redirect=https sends plain requests to the https listener's port", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, "route.txt"), []byte("route uri=/secure/ protocol=http redirect=https handler=redirect\nroute uri=/\n"), 0o644)
		srv, err := vigil.New(vigil.Config{Listen: []string{"127.0.0.1:0", "https://127.0.0.1:0"}, TLSSelfSigned: filepath.Join(dir, "tls"),
			Root: dir, Route: filepath.Join(dir, "route.txt")})
		if err != nil {
			t.Fatal(err)
		}
		if err := srv.Start(); err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		httpAddr, httpsAddr := srv.Addrs()[0].String(), srv.Addrs()[1].String()
		c := &http.Client{Timeout: 5 * time.Second, CheckRedirect: noRedirects, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := c.Get("http://" + httpAddr + "/secure/x?y=1")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := "https://" + httpsAddr + "/secure/x?y=1"; resp.StatusCode != 301 || resp.Header.Get("Location") != want {
			t.Errorf("redirect: %d to %q, want 301 to %q", resp.StatusCode, resp.Header.Get("Location"), want)
		}
	})

	t.Run("an https listener without a certificate source is refused", func(t *testing.T) {
		if _, err := vigil.New(vigil.Config{Listen: []string{"https://127.0.0.1:0"}}); err == nil {
			t.Error("New accepted https without a certificate")
		}
	})
}
