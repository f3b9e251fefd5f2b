package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func selfSigned(t *testing.T, dir string, names ...string) *Certs {
	t.Helper()
	c, err := Load(Options{SelfSignedDir: dir, Names: names})
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

func TestSelfSigned(t *testing.T) {
	t.Run("a second Load reuses the generated certificate", func(t *testing.T) {
		dir := t.TempDir()
		a := selfSigned(t, dir)
		b := selfSigned(t, dir)
		if a.Fingerprint() != b.Fingerprint() {
			t.Fatalf("fingerprint changed: %s then %s", a.Fingerprint(), b.Fingerprint())
		}
	})
	t.Run("the certificate names localhost, loopback and the host", func(t *testing.T) {
		leaf := selfSigned(t, t.TempDir(), "device.lan", "10.9.8.7").cur.Load().Leaf
		host, _ := os.Hostname()
		for _, n := range []string{"localhost", "127.0.0.1", "::1", host, "device.lan", "10.9.8.7"} {
			if err := leaf.VerifyHostname(n); err != nil {
				t.Errorf("certificate does not name %q: %v", n, err)
			}
		}
		if leaf.IsCA || leaf.KeyUsage != x509.KeyUsageDigitalSignature ||
			!slices.Equal(leaf.ExtKeyUsage, []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}) {
			t.Errorf("usage: IsCA %v KeyUsage %v ExtKeyUsage %v", leaf.IsCA, leaf.KeyUsage, leaf.ExtKeyUsage)
		}
		if leaf.SerialNumber.BitLen() < 64 {
			t.Errorf("serial %v is short", leaf.SerialNumber)
		}
		if d := leaf.NotAfter.Sub(leaf.NotBefore); d < 3650*24*time.Hour {
			t.Errorf("validity %v, want 10 years", d)
		}
	})
	t.Run("the key file has mode 0600", func(t *testing.T) {
		dir := t.TempDir()
		selfSigned(t, dir)
		fi, err := os.Stat(filepath.Join(dir, SelfSignedKey))
		if err != nil {
			t.Fatal(err)
		}
		if m := fi.Mode().Perm(); m != 0o600 {
			t.Fatalf("key mode %#o, want 0600", m)
		}
	})
	t.Run("a readable key file is refused by name and mode", func(t *testing.T) {
		dir := t.TempDir()
		selfSigned(t, dir)
		key := filepath.Join(dir, SelfSignedKey)
		if err := os.Chmod(key, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(Options{SelfSignedDir: dir})
		if err == nil || !strings.Contains(err.Error(), key) || !strings.Contains(err.Error(), "0644") {
			t.Fatalf("err = %v, want one naming %s and 0644", err, key)
		}
	})
	t.Run("a new configured name regenerates our certificate", func(t *testing.T) {
		dir := t.TempDir()
		a := selfSigned(t, dir)
		b := selfSigned(t, dir, "new.lan")
		if a.Fingerprint() == b.Fingerprint() {
			t.Fatal("certificate not regenerated")
		}
		if err := b.cur.Load().Leaf.VerifyHostname("new.lan"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("our expired certificate is regenerated", func(t *testing.T) {
		dir := t.TempDir()
		a := selfSigned(t, dir)
		later := time.Now().AddDate(11, 0, 0)
		b, err := Load(Options{SelfSignedDir: dir, Now: func() time.Time { return later }})
		if err != nil {
			t.Fatal(err)
		}
		if a.Fingerprint() == b.Fingerprint() || !b.cur.Load().Leaf.NotAfter.After(later) {
			t.Fatal("expired certificate not regenerated")
		}
	})
	t.Run("a certificate not made by us is kept", func(t *testing.T) {
		dir := t.TempDir()
		writeForeign(t, dir)
		before, _ := Fingerprint(filepath.Join(dir, SelfSignedCert))
		c := selfSigned(t, dir, "new.lan")
		if c.Fingerprint() != before {
			t.Fatal("foreign certificate replaced")
		}
	})
}

// writeForeign writes into dir a self-signed pair without the mark.
func writeForeign(t *testing.T, dir string) {
	t.Helper()
	c := &Certs{opts: Options{SelfSignedDir: dir, Now: time.Now},
		certFile: filepath.Join(dir, SelfSignedCert), keyFile: filepath.Join(dir, SelfSignedKey)}
	c.log = slog.New(slog.DiscardHandler)
	if err := c.generate(); err != nil {
		t.Fatal(err)
	}
	// Re-sign with another Subject.
	cert, err := loadPair(c.certFile, c.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *cert.Leaf
	tmpl.Subject.Organization = []string{"Acme"}
	tmpl.RawSubject, tmpl.RawIssuer = nil, nil
	der, err := x509.CreateCertificate(randReader{}, &tmpl, &tmpl, cert.Leaf.PublicKey, cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeAtomic(c.certFile, pemCert(der), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	c := selfSigned(t, dir)
	old := c.Fingerprint()

	other := t.TempDir()
	n := selfSigned(t, other)
	for _, f := range []string{SelfSignedCert, SelfSignedKey} {
		data, err := os.ReadFile(filepath.Join(other, f))
		if err != nil {
			t.Fatal(err)
		}
		if err := writeAtomic(filepath.Join(dir, f), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Reload(); err != nil {
		t.Fatal(err)
	}
	if c.Fingerprint() != n.Fingerprint() || c.Fingerprint() == old {
		t.Fatal("Reload did not pick up the replaced files")
	}
	if got := handshake(t, c, n.cur.Load().Leaf); got != n.Fingerprint() {
		t.Fatalf("handshake served %s, want %s", got, n.Fingerprint())
	}

	if err := os.WriteFile(filepath.Join(dir, SelfSignedCert), []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.Reload(); err == nil {
		t.Fatal("Reload of a corrupt certificate succeeded")
	}
	if c.Fingerprint() != n.Fingerprint() {
		t.Fatal("failed Reload dropped the old certificate")
	}
}

// handshake dials a loopback TLS server using c, trusting root, and returns
// the fingerprint of the certificate it served.
func handshake(t *testing.T, c *Certs, root *x509.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", c.Config())
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(5 * time.Second))
		done <- conn.(*tls.Conn).Handshake()
	}()
	pool := x509.NewCertPool()
	pool.AddCert(root)
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", ln.Addr().String(), &tls.Config{
		RootCAs:    pool,
		ServerName: "localhost",
		NextProtos: []string{"h2", "http/1.1"},
	})
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	if err := <-done; err != nil {
		t.Fatalf("server handshake: %v", err)
	}
	st := conn.ConnectionState()
	if st.Version < tls.VersionTLS12 {
		t.Errorf("version %#x, want TLS 1.2 or later", st.Version)
	}
	if st.NegotiatedProtocol != "h2" {
		t.Errorf("ALPN %q, want h2", st.NegotiatedProtocol)
	}
	return fingerprint(st.PeerCertificates[0].Raw)
}

func TestHandshake(t *testing.T) {
	c := selfSigned(t, t.TempDir())
	if got := handshake(t, c, c.cur.Load().Leaf); got != c.Fingerprint() {
		t.Fatalf("served %s, want %s", got, c.Fingerprint())
	}
	t.Run("the config refuses TLS below 1.2", func(t *testing.T) {
		if v := c.Config().MinVersion; v != tls.VersionTLS12 {
			t.Fatalf("MinVersion %#x", v)
		}
	})
}

func TestLoadErrors(t *testing.T) {
	good := t.TempDir()
	selfSigned(t, good)
	goodCert := filepath.Join(good, SelfSignedCert)
	goodKey := filepath.Join(good, SelfSignedKey)
	dir := t.TempDir()
	write := func(name, data string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	badCert := write("bad-cert.pem", "not pem", 0o644)
	badKey := write("bad-key.pem", "not pem", 0o600)
	otherDir := t.TempDir()
	selfSigned(t, otherDir)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no source is an error", Options{}, "no certificate"},
		{"both sources are an error", Options{CertFile: goodCert, KeyFile: goodKey, SelfSignedDir: dir}, "not both"},
		{"a missing certificate names the file", Options{CertFile: filepath.Join(dir, "nope.pem"), KeyFile: goodKey}, "nope.pem"},
		{"a corrupt certificate names the file", Options{CertFile: badCert, KeyFile: goodKey}, badCert},
		{"a corrupt key names the file", Options{CertFile: goodCert, KeyFile: badKey}, badKey},
		{"a mismatched pair names both files", Options{CertFile: goodCert, KeyFile: filepath.Join(otherDir, SelfSignedKey)}, goodCert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("a corrupt self-signed certificate is not overwritten", func(t *testing.T) {
		d := t.TempDir()
		selfSigned(t, d)
		cert := filepath.Join(d, SelfSignedCert)
		if err := os.WriteFile(cert, []byte("junk"), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(Options{SelfSignedDir: d}); err == nil || !strings.Contains(err.Error(), cert) {
			t.Fatalf("err = %v, want one naming %s", err, cert)
		}
		if data, _ := os.ReadFile(cert); string(data) != "junk" {
			t.Fatal("corrupt certificate was overwritten")
		}
	})
}

func TestFingerprint(t *testing.T) {
	dir := t.TempDir()
	c := selfSigned(t, dir)
	fp, err := Fingerprint(filepath.Join(dir, SelfSignedCert))
	if err != nil {
		t.Fatal(err)
	}
	if fp != c.Fingerprint() {
		t.Fatalf("Fingerprint(file) %s != Certs.Fingerprint %s", fp, c.Fingerprint())
	}
	if !regexp.MustCompile(`^[0-9A-F]{2}(:[0-9A-F]{2}){31}$`).MatchString(fp) {
		t.Fatalf("fingerprint %q is not 32 colon-separated upper-case hex bytes", fp)
	}
	if _, err := Fingerprint(filepath.Join(dir, SelfSignedKey)); err == nil || !strings.Contains(err.Error(), SelfSignedKey) {
		t.Fatalf("Fingerprint of a key file: err = %v", err)
	}
}
