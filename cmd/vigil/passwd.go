package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/vigilhttp/vigil"
)

// passwd is "vigil passwd": add or update a user in an auth.txt, like
// GoAhead's gopass.
func passwd(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("vigil passwd", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cipher := flags.String("cipher", "bcrypt", "password hash: bcrypt, md5 (needed for digest auth) or blowfish (GoAhead BF1)")
	file := flags.String("file", "auth.txt", "auth file to update (created 0600 if missing)")
	realm := flags.String("realm", vigil.DefaultRealm, "authentication realm (part of md5 and blowfish hashes)")
	password := flags.String("password", "", "the password (default: read one line from standard input)")
	flags.Usage = func() {
		fmt.Fprintln(stderr, "usage: vigil passwd [--cipher bcrypt|md5|blowfish] [--file auth.txt] [--realm R] [--password PW] USER [ROLES...]")
		flags.PrintDefaults()
	}
	if err := flags.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return usageError{err.Error()}
	}
	if flags.NArg() < 1 {
		return usageError{"passwd: want USER [ROLES...]"}
	}
	user, roles := flags.Arg(0), flags.Args()[1:]
	pw := *password
	if pw == "" {
		fmt.Fprintf(stderr, "password for %s: ", user)
		line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
		if err != nil && err != io.EOF {
			return fmt.Errorf("passwd: reading the password: %w", err)
		}
		pw = strings.TrimRight(line, "\r\n")
	}
	if pw == "" {
		return usageError{"passwd: empty password"}
	}
	if err := vigil.SetPassword(*file, *cipher, *realm, user, pw, roles); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s updated (%s)\n", *file, user, *cipher)
	return nil
}
