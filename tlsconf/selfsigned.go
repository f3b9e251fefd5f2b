package tlsconf

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// selfSignedYears is the validity of a generated certificate.
const selfSignedYears = 10

// ensureSelfSigned leaves a usable certificate in the self-signed files:
// it keeps one already there unless it is ours and stale (expired, or
// lacking a configured name), and generates one otherwise.
func (c *Certs) ensureSelfSigned() error {
	certOK, err := exists(c.certFile)
	if err != nil {
		return err
	}
	keyOK, err := exists(c.keyFile)
	if err != nil {
		return err
	}
	if certOK && keyOK {
		cert, err := loadPair(c.certFile, c.keyFile)
		if err != nil {
			return err // never overwrite what we cannot read: a person must look
		}
		why := c.staleReason(cert.Leaf)
		if why == "" {
			return nil
		}
		if !slices.Contains(cert.Leaf.Subject.Organization, SelfSignedOrg) {
			c.log.Warn("tlsconf: keeping a certificate not made by us", "file", c.certFile, "problem", why)
			return nil
		}
		c.log.Info("tlsconf: regenerating self-signed certificate", "file", c.certFile, "reason", why)
	}
	return c.generate()
}

// staleReason says why leaf should be replaced, or "" if it should not.
func (c *Certs) staleReason(leaf *x509.Certificate) string {
	if c.opts.Now().After(leaf.NotAfter) {
		return "expired"
	}
	for _, n := range c.opts.Names {
		if leaf.VerifyHostname(n) != nil {
			return "lacks name " + n
		}
	}
	return ""
}

// generate writes a new key and self-signed certificate, key first, each
// atomically.
func (c *Certs) generate() error {
	dir := c.opts.SelfSignedDir
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("tlsconf: generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return fmt.Errorf("tlsconf: generate serial: %w", err)
	}
	host, dns, ips := c.sans()
	start := c.opts.Now().Add(-time.Hour)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: host, Organization: []string{SelfSignedOrg}},
		NotBefore:             start,
		NotAfter:              start.AddDate(selfSignedYears, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  false,
		DNSNames:              dns,
		IPAddresses:           ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return fmt.Errorf("tlsconf: create certificate: %w", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("tlsconf: marshal key: %w", err)
	}
	if err := writeAtomic(c.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		return err
	}
	if err := writeAtomic(c.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	c.log.Info("tlsconf: generated self-signed certificate", "file", c.certFile,
		"fingerprint", fingerprint(der), "dns", dns, "ips", ips)
	return nil
}

// sans returns the host name (for the Subject) and the DNS names and IP
// addresses a generated certificate names, without duplicates.
func (c *Certs) sans() (host string, dns []string, ips []net.IP) {
	addIP := func(ip net.IP) {
		if !slices.ContainsFunc(ips, ip.Equal) {
			ips = append(ips, ip)
		}
	}
	addDNS := func(n string) {
		if n != "" && !slices.Contains(dns, n) {
			dns = append(dns, n)
		}
	}
	host, err := os.Hostname()
	if err != nil {
		c.log.Warn("tlsconf: no host name for the certificate", "err", err)
		host = "localhost"
	}
	addDNS(host)
	addDNS("localhost")
	addIP(net.IPv4(127, 0, 0, 1))
	addIP(net.IPv6loopback)
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		c.log.Warn("tlsconf: no interface addresses for the certificate", "err", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			addIP(n.IP)
		}
	}
	for _, n := range c.opts.Names {
		if ip := net.ParseIP(n); ip != nil {
			addIP(ip)
		} else {
			addDNS(n)
		}
	}
	return host, dns, ips
}

// writeAtomic writes data to file through a temporary file in the same
// directory, synced and renamed over it.
func writeAtomic(file string, data []byte, mode os.FileMode) (err error) {
	f, err := os.CreateTemp(filepath.Dir(file), "."+filepath.Base(file)+".*")
	if err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(mode); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	if err := os.Rename(f.Name(), file); err != nil {
		return fmt.Errorf("tlsconf: %w", err)
	}
	return nil
}
