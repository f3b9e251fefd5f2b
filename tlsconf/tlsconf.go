package tlsconf

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Names of the files Load keeps in Options.SelfSignedDir.
const (
	// SelfSignedCert is the certificate file, PEM, mode 0644.
	SelfSignedCert = "cert.pem"
	// SelfSignedKey is the PKCS #8 private key file, PEM, mode 0600.
	SelfSignedKey = "key.pem"
	// SelfSignedOrg is the Subject organisation that marks a certificate
	// as made by this package, and so as one it may replace.
	SelfSignedOrg = "vigil self-signed"
)

// Options says where the certificate comes from. Set CertFile and KeyFile,
// or SelfSignedDir; not both.
type Options struct {
	// CertFile is a PEM file holding the leaf certificate, then any
	// intermediates. KeyFile is the PEM file of its private key; group or
	// world access to it is refused.
	CertFile, KeyFile string
	// SelfSignedDir is a directory (created with mode 0700 if missing)
	// where Load generates a self-signed certificate on first start and
	// reuses it after.
	SelfSignedDir string
	// Names are extra DNS names or IP addresses a self-signed certificate
	// must name. With CertFile, a certificate lacking one is only warned
	// about.
	Names []string
	// Logger receives generation notices and warnings; nil discards them.
	Logger *slog.Logger
	// Now is the clock for validity; nil means time.Now.
	Now func() time.Time
}

// Certs holds the current certificate. It is safe for concurrent use; the
// zero value is not usable, call Load.
type Certs struct {
	opts     Options
	certFile string
	keyFile  string
	log      *slog.Logger
	cur      atomic.Pointer[tls.Certificate] // Leaf always set
}

// Load loads the certificate named by opts, generating a self-signed one
// first if opts.SelfSignedDir is set and it holds no usable certificate of
// ours. Errors name the file at fault.
func Load(opts Options) (*Certs, error) {
	c := &Certs{opts: opts, log: opts.Logger}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.opts.Now == nil {
		c.opts.Now = time.Now
	}
	switch {
	case opts.SelfSignedDir != "" && (opts.CertFile != "" || opts.KeyFile != ""):
		return nil, errors.New("tlsconf: set either CertFile and KeyFile or SelfSignedDir, not both")
	case opts.SelfSignedDir != "":
		c.certFile = filepath.Join(opts.SelfSignedDir, SelfSignedCert)
		c.keyFile = filepath.Join(opts.SelfSignedDir, SelfSignedKey)
		if err := c.ensureSelfSigned(); err != nil {
			return nil, err
		}
	case opts.CertFile != "" && opts.KeyFile != "":
		c.certFile, c.keyFile = opts.CertFile, opts.KeyFile
	default:
		return nil, errors.New("tlsconf: no certificate: set CertFile and KeyFile, or SelfSignedDir")
	}
	if err := c.Reload(); err != nil {
		return nil, err
	}
	if opts.SelfSignedDir == "" {
		leaf := c.cur.Load().Leaf
		for _, n := range opts.Names {
			if leaf.VerifyHostname(n) != nil {
				c.log.Warn("tlsconf: certificate does not name a configured name",
					"file", c.certFile, "name", n)
			}
		}
	}
	return c, nil
}

// Config returns a server configuration: TLS 1.2 or later, Go's default
// cipher suites, ALPN "h2" then "http/1.1", and the certificate current at
// each handshake, so a Reload takes effect for new connections.
func (c *Certs) Config() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return c.cur.Load(), nil
		},
	}
}

// Reload re-reads the certificate and key files. On error it keeps the
// certificate it had and returns the error; connections already established
// are not affected either way.
func (c *Certs) Reload() error {
	cert, err := loadPair(c.certFile, c.keyFile)
	if err != nil {
		return err
	}
	c.cur.Store(cert)
	return nil
}

// Fingerprint returns the SHA-256 of the current leaf certificate's DER
// encoding as colon-separated upper-case hex, as browsers show it.
func (c *Certs) Fingerprint() string {
	return fingerprint(c.cur.Load().Leaf.Raw)
}

// Fingerprint returns the fingerprint (as Certs.Fingerprint) of the first
// certificate in the PEM file certPEMFile.
func Fingerprint(certPEMFile string) (string, error) {
	data, err := os.ReadFile(certPEMFile)
	if err != nil {
		return "", fmt.Errorf("tlsconf: %w", err)
	}
	der, err := firstCert(certPEMFile, data)
	if err != nil {
		return "", err
	}
	return fingerprint(der), nil
}

func fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	var b strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			b.WriteByte(':')
		}
		b.WriteString(h[i : i+2])
	}
	return b.String()
}

// firstCert returns the DER of the first CERTIFICATE block in data.
func firstCert(file string, data []byte) ([]byte, error) {
	for {
		var blk *pem.Block
		blk, data = pem.Decode(data)
		if blk == nil {
			return nil, fmt.Errorf("tlsconf: %s: no PEM CERTIFICATE block", file)
		}
		if blk.Type == "CERTIFICATE" {
			return blk.Bytes, nil
		}
	}
}

// loadPair reads and checks a certificate and its key.
func loadPair(certFile, keyFile string) (*tls.Certificate, error) {
	if err := checkKeyMode(keyFile); err != nil {
		return nil, err
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: %w", err)
	}
	if _, err := firstCert(certFile, certPEM); err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(keyPEM); blk == nil || !strings.HasSuffix(blk.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("tlsconf: %s: no PEM PRIVATE KEY block", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("tlsconf: %s with %s: %w", certFile, keyFile, err)
	}
	if cert.Leaf == nil {
		if cert.Leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return nil, fmt.Errorf("tlsconf: %s: %w", certFile, err)
		}
	}
	return &cert, nil
}

// checkKeyMode refuses a key file the group or others may access.
func checkKeyMode(keyFile string) error {
	fi, err := os.Stat(keyFile)
	if err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("tlsconf: key file %s has mode %#o: group or others have access; chmod 600 it", keyFile, m)
	}
	return nil
}

// exists reports whether file exists; other stat errors are returned.
func exists(file string) (bool, error) {
	_, err := os.Stat(file)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("tlsconf: %w", err)
	}
	return true, nil
}
