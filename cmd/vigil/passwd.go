package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/vigilhttp/vigil/auth"
)

// minPassword is the shortest password vigil passwd takes without --force.
const minPassword = 8

// passwd is "vigil passwd": add or update a user in an auth.txt, like
// GoAhead's gopass. On a terminal it reads the password without echo, twice.
func passwd(_ context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("vigil passwd", flag.ContinueOnError)
	flags.SetOutput(stderr)
	cipher := flags.String("cipher", "bcrypt", "password hash: bcrypt, md5 (needed for digest auth) or blowfish (GoAhead BF1)")
	file := flags.String("file", "auth.txt", "auth file to update (created 0600 if missing)")
	realm := flags.String("realm", auth.DefaultRealm, "authentication realm (part of md5 and blowfish hashes)")
	password := flags.String("password", "", "the password (default: asked on the terminal without echo, twice; or one line of standard input)")
	force := flags.Bool("force", false, fmt.Sprintf("accept a password shorter than %d characters", minPassword))
	flags.Usage = func() {
		fmt.Fprintln(flags.Output(), "usage: vigil passwd [--cipher bcrypt|md5|blowfish] [--file auth.txt] [--realm R] [--password PW] [--force] USER [ROLES...]")
		flags.PrintDefaults()
	}
	if err := parseFlags(flags, args); err != nil {
		return err
	}
	if flags.NArg() < 1 {
		return usageError{"passwd: want USER [ROLES...] after the flags (e.g. vigil passwd --file auth.txt joshua administrator)"}
	}
	user, roles := flags.Arg(0), flags.Args()[1:]
	pw := *password
	if pw == "" {
		var err error
		if pw, err = askPassword(stdin, stderr, user); err != nil {
			return err
		}
	}
	if pw == "" {
		return usageError{"passwd: empty password"}
	}
	if n := utf8.RuneCountInString(pw); n < minPassword && !*force {
		return usageError{fmt.Sprintf("passwd: the password has %d characters; use at least %d, or add --force", n, minPassword)}
	}
	if err := setPassword(*file, *cipher, *realm, user, pw, roles); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %s updated (%s)\n", *file, user, *cipher)
	return nil
}

// setPassword adds or replaces user's line in the auth.txt at path (created
// 0600 if missing), with a hash of password made by cipher: "bcrypt",
// "md5" (GoAhead's HA1 of user:realm:password, which digest authentication
// needs) or "blowfish" (GoAhead's BF1 format).
func setPassword(path, cipher, realm, user, password string, roles []string) error {
	if realm == "" {
		realm = auth.DefaultRealm
	}
	h, err := auth.MakePassword(cipher, user, realm, password)
	if err != nil {
		return fmt.Errorf("vigil: passwd: %w", err)
	}
	if err := auth.SetUser(path, user, h, roles); err != nil {
		return fmt.Errorf("vigil: passwd: %w", err)
	}
	return nil
}

// askPassword reads the password: on a terminal without echo and twice,
// the two must match; from anything else (a pipe, a file) one line.
func askPassword(stdin io.Reader, stderr io.Writer, user string) (string, error) {
	in := bufio.NewReader(io.LimitReader(stdin, 4096))
	f, isFile := stdin.(*os.File)
	if !isFile {
		return readLine(in)
	}
	restore, tty := noEcho(f)
	if !tty {
		return readLine(in)
	}
	defer restore()
	fmt.Fprintf(stderr, "password for %s: ", user)
	first, err := readLine(in)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(stderr, "again: ")
	second, err := readLine(in)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", err
	}
	if first != second {
		return "", usageError{"passwd: the two passwords differ; nothing changed"}
	}
	return first, nil
}

func readLine(in *bufio.Reader) (string, error) {
	line, err := in.ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("passwd: reading the password: %w", err)
	}
	return strings.TrimRight(line, "\r\n"), nil
}
