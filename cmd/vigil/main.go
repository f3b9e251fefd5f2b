// Command vigil is an embedded web server for device web UIs that no peer can
// hang. With no subcommand it serves (see "vigil serve -h").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
	case errors.As(err, new(usageError)):
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "vigil:", err)
		os.Exit(1)
	}
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: vigil [serve] [flags]

Commands:
  serve      serve a document root or the embedded demo device UI (the default)
  conns      show the live connection table of a running server, stuck ones first
  passwd     add or update a user in a GoAhead auth.txt
  hangcheck  attack a server you own with slow, stalled and malformed peers

Run "vigil serve -h" for the serve flags.
`

// run is the whole program: it parses args, runs a command until ctx is done
// and returns its error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return serve(ctx, args, stdout, stderr)
	case "conns":
		return conns(ctx, args, stdout, stderr)
	case "cert":
		return cert(ctx, args, stdout, stderr)
	case "passwd":
		return passwd(ctx, args, os.Stdin, stdout, stderr)
	case "hangcheck":
		return hangcheck(ctx, args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", cmd)}
}
