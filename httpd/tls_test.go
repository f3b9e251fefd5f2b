package httpd

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// testCert returns a self-signed certificate for 127.0.0.1 and its pool.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func TestTLS(t *testing.T) {
	cert, pool := testCert(t)
	tab := governor.NewTable(governor.Options{HeaderTimeout: time.Second, StallTimeout: time.Second, IdleTimeout: 2 * time.Second})
	srv := New(Options{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}), Governor: tab})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.StartTLS(ln, &tls.Config{Certificates: []tls.Certificate{cert}}); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	addr := ln.Addr().String()

	t.Run("HTTP/2 is negotiated by ALPN, HTTP/1.1 still works", func(t *testing.T) {
		h2 := "HTTP/2.0"
		if !HTTP2 { // -tags nethttpomithttp2: a client offering h2 gets HTTP/1.1
			h2 = "HTTP/1.1"
		}
		for _, tt := range []struct {
			h2   bool
			want string
		}{{true, h2}, {false, "HTTP/1.1"}} {
			tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: tt.h2}
			if !tt.h2 {
				tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			}
			c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
			resp, err := c.Get("https://" + addr + "/")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			tr.CloseIdleConnections()
			if string(b) != tt.want {
				t.Errorf("proto %q, want %q", b, tt.want)
			}
		}
	})

	t.Run("a client that never finishes the handshake is cut at the handshake timeout", func(t *testing.T) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.Write([]byte{0x16, 0x03, 0x01}) // the start of a ClientHello, then silence
		t0 := time.Now()
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		io.Copy(io.Discard, c)
		if d := time.Since(t0); d > 2500*time.Millisecond {
			t.Errorf("stalled handshake held %v, want about 1s", d)
		}
		deadline := time.Now().Add(2 * time.Second)
		for tab.Stats().Closed[governor.CauseHandshake] == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if n := tab.Stats().Closed[governor.CauseHandshake]; n != 1 {
			t.Errorf("handshake-timeout closes = %d, want 1 (%v)", n, tab.Stats().Closed)
		}
	})

	t.Run("a handshake trickled a byte at a time is cut at the handshake timeout, a total", func(t *testing.T) {
		// A real ClientHello, captured from crypto/tls over a pipe.
		cli, srv := net.Pipe()
		go tls.Client(cli, &tls.Config{InsecureSkipVerify: true}).Handshake()
		hello := make([]byte, 4096)
		srv.SetReadDeadline(time.Now().Add(time.Second))
		n, _ := srv.Read(hello)
		cli.Close()
		srv.Close()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		before := tab.Stats().Closed[governor.CauseHandshake]
		t0 := time.Now()
		for i := 0; i < n && time.Since(t0) < 5*time.Second; i++ {
			if _, err := c.Write(hello[i : i+1]); err != nil {
				break // cut
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		io.Copy(io.Discard, c)
		if d := time.Since(t0); d > 2500*time.Millisecond {
			t.Errorf("trickled handshake held %v, want about 1s", d)
		}
		deadline := time.Now().Add(2 * time.Second)
		for tab.Stats().Closed[governor.CauseHandshake] == before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if tab.Stats().Closed[governor.CauseHandshake] != before+1 {
			t.Errorf("handshake-timeout closes %v, want one more", tab.Stats().Closed)
		}
	})
}
