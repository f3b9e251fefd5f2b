package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/vigilhttp/vigil/tlsconf"
)

// cert is "vigil cert": print the SHA-256 fingerprint of the server's
// certificate, for the user to compare with what the browser shows.
func cert(_ context.Context, args []string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("vigil cert", flag.ContinueOnError)
	flags.SetOutput(stderr)
	certFile := flags.String("tls-cert", "", "certificate (PEM) file")
	dir := flags.String("tls-self-signed", "", "directory of the device certificate (made if missing)")
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if (*certFile == "") == (*dir == "") {
		return usageError{"cert: give --tls-cert FILE or --tls-self-signed DIR"}
	}
	fp, err := fingerprint(*certFile, *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "SHA-256 %s\n", fp)
	return nil
}

// fingerprint returns the SHA-256 fingerprint, as browsers show it, of the
// certificate in certFile or, if certFile is empty, of the device
// certificate in selfSignedDir (made there if missing).
func fingerprint(certFile, selfSignedDir string) (string, error) {
	if certFile != "" {
		return tlsconf.Fingerprint(certFile)
	}
	c, err := tlsconf.Load(tlsconf.Options{SelfSignedDir: selfSignedDir})
	if err != nil {
		return "", err
	}
	return c.Fingerprint(), nil
}
