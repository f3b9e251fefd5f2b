package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/vigilhttp/vigil"
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
	fp, err := vigil.TLSFingerprint(*certFile, *dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "SHA-256 %s\n", fp)
	return nil
}
