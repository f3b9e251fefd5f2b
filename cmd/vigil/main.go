// Command vigil is an embedded web server for device web UIs that no peer can
// hang. With no subcommand it serves (see "vigil help serve").
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
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
		fmt.Fprintln(os.Stderr, errorLine(err))
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, errorLine(err))
		os.Exit(1)
	}
}

// errorLine is err as the one line main prints: "vigil: " once, however
// many layers of the error already start with it.
func errorLine(err error) string {
	msg := err.Error()
	for {
		rest, ok := strings.CutPrefix(msg, "vigil: ")
		if !ok {
			break
		}
		msg = rest
	}
	return "vigil: " + msg
}

// usageError is a mistake in the command line (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `usage: vigil [command] [flags]

Commands:
  serve      serve a document root or the embedded demo device UI (the default)
  conns      show the live connection table of a running server, stuck ones first
  passwd     add or update a user in a GoAhead auth.txt
  cert       print the SHA-256 fingerprint of the server's TLS certificate
  hangcheck  attack a server you own with slow, stalled and malformed peers
  version    print the module version, commit and Go version
  help       print this, or "vigil help COMMAND" for a command's flags

"vigil" alone is "vigil serve": the demo UI on http://localhost:8080/.
Run "vigil help serve" for the serve flags.
`

// commands are the commands of run, by name; help, version and an
// unknown name are run's own.
var commands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) error{
	"serve": serve,
	"conns": conns,
	"cert":  cert,
	"passwd": func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		return passwd(ctx, args, os.Stdin, stdout, stderr)
	},
	// "hangcheck" is added by hangcheck_on.go, or as a refusal by
	// hangcheck_omit.go with -tags nohangcheck.
}

// run is the whole program: it parses args, runs a command until ctx is done
// and returns its error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cmd := "serve"
	if len(args) > 0 {
		switch a := args[0]; {
		case a == "-h" || a == "-help" || a == "--help":
			fmt.Fprint(stdout, usage)
			return nil
		case a == "-version" || a == "--version":
			cmd, args = "version", args[1:]
		case len(a) > 0 && a[0] != '-':
			cmd, args = a, args[1:]
		}
	}
	switch cmd {
	case "help":
		if len(args) == 0 {
			fmt.Fprint(stdout, usage)
			return nil
		}
		if _, ok := commands[args[0]]; !ok {
			return usageError{fmt.Sprintf("help: unknown command %q (vigil help lists them)", args[0])}
		}
		// A command's help is its flags' help, on standard output.
		err := commands[args[0]](ctx, []string{"--help"}, stdout, stdout)
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	case "version":
		if len(args) > 0 {
			return usageError{"version: takes no arguments"}
		}
		fmt.Fprintln(stdout, versionLine())
		return nil
	}
	c, ok := commands[cmd]
	if !ok {
		return usageError{fmt.Sprintf("unknown command %q (vigil help lists them)", cmd)}
	}
	return c(ctx, args, stdout, stderr)
}

// version is what the binary knows of itself from its build information.
type version struct {
	Module   string // the module version: a tag, a pseudo-version or "(devel)"
	Revision string // the VCS commit, if the build recorded it
	Modified bool   // the work tree had changes when it was built
	Go       string // the Go release that built it
}

// readVersion reads the build information of the running binary.
func readVersion() version {
	v := version{Module: "(devel)", Go: runtime.Version()}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return v
	}
	if bi.Main.Version != "" {
		v.Module = bi.Main.Version
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	return v
}

// String is the version as the status page shows it: the module version,
// or the commit when the build has no version of its own ("(devel)"), or
// why it has neither (go run and go test record no commit).
func (v version) String() string {
	s := v.Module
	switch {
	case s == "(devel)" && v.Revision != "":
		s = "commit " + short(v.Revision)
	case s == "(devel)":
		s = "(devel), no commit recorded (go run, or built with -buildvcs=false)"
	}
	if v.Modified {
		s += " (modified)"
	}
	return s
}

func short(rev string) string { return rev[:min(12, len(rev))] }

// versionLine is "vigil version": module version, commit and Go version.
func versionLine() string {
	v := readVersion()
	rev := "unknown commit"
	if v.Revision != "" {
		rev = "commit " + short(v.Revision)
		if v.Modified {
			rev += " (modified)"
		}
	}
	return fmt.Sprintf("vigil %s, %s, %s %s/%s", v.Module, rev, v.Go, runtime.GOOS, runtime.GOARCH)
}
