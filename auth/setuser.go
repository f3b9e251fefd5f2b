package auth

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// SetUser sets user's line in the auth.txt at path to
//
//	user name=USER password=HASH roles=R1,R2
//
// replacing the user's line where it is, or appending one. Every other line,
// comments included, is kept byte for byte. roles nil keeps an existing
// user's roles (none for a new user). The file is replaced atomically (a
// temporary file in the same directory, fsync, rename) and keeps its mode
// and, where permitted, its owner; a new file gets mode 0600. A symbolic
// link at path is followed, not replaced. The result is parsed before it is
// written: SetUser refuses to write a file Parse would reject, including
// when the existing file is already invalid.
//
// SetUser does not lock: callers updating one file concurrently must
// serialise, or an update may be lost.
func SetUser(path, user, hash string, roles []string) error {
	if err := checkUserName(user); err != nil {
		return fmt.Errorf("auth: set user: %w", err)
	}
	if _, err := parseHash(hash); err != nil {
		return fmt.Errorf("auth: set user %s: password: %w", user, err)
	}
	for _, r := range roles {
		if r == "" || strings.ContainsFunc(r, func(c rune) bool {
			return c <= ' ' || c == 0x7f || c == ',' || c == '=' || c == '"' || c == '|'
		}) {
			return fmt.Errorf("auth: set user %s: bad role name %q", user, r)
		}
	}
	target, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		target = path
	} else if err != nil {
		return fmt.Errorf("auth: set user: %w", err)
	}
	mode := fs.FileMode(0o600)
	var old []byte
	fi, err := os.Stat(target)
	switch {
	case err == nil:
		mode = fi.Mode().Perm()
		if old, err = os.ReadFile(target); err != nil {
			return fmt.Errorf("auth: set user: %w", err)
		}
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("auth: set user: %w", err)
	}
	if _, err := Parse(path, bytes.NewReader(old)); err != nil {
		return fmt.Errorf("auth: set user: fix %s first: %w", path, err)
	}
	data := setUserLine(old, user, hash, roles)
	if _, err := Parse(path, bytes.NewReader(data)); err != nil {
		return fmt.Errorf("auth: set user: %w", err)
	}
	if err := writeAtomic(target, data, mode, fi); err != nil {
		return fmt.Errorf("auth: set user: %w", err)
	}
	return nil
}

// setUserLine returns data with user's line replaced or appended.
func setUserLine(data []byte, user, hash string, roles []string) []byte {
	lines := bytes.SplitAfter(data, []byte("\n"))
	eol := "\n"
	if len(lines) > 0 && bytes.HasSuffix(lines[0], []byte("\r\n")) {
		eol = "\r\n"
	}
	format := func(roles []string) string {
		l := "user name=" + user + " password=" + hash
		if len(roles) > 0 {
			l += " roles=" + strings.Join(roles, ",")
		}
		return l
	}
	var out bytes.Buffer
	done := false
	for _, line := range lines {
		if !done {
			if oldRoles, ok := userLine(line, user); ok {
				if roles == nil {
					roles = oldRoles
				}
				body := bytes.TrimRight(line, "\r\n")
				out.WriteString(format(roles))
				out.Write(line[len(body):]) // keep this line's ending
				done = true
				continue
			}
		}
		out.Write(line)
	}
	if !done {
		if out.Len() > 0 && !bytes.HasSuffix(out.Bytes(), []byte("\n")) {
			out.WriteString(eol)
		}
		out.WriteString(format(roles) + eol)
	}
	return out.Bytes()
}

// userLine reports whether line is the user line of user, and its roles.
func userLine(line []byte, user string) (roles []string, ok bool) {
	words := strings.Fields(string(line))
	if len(words) == 0 || words[0] != "user" {
		return nil, false
	}
	name, rolesSet := "", false
	for _, w := range words[1:] {
		k, v, _ := strings.Cut(w, "=")
		switch k {
		case "name":
			name = v
		case "roles":
			roles, rolesSet = splitList(v, ","), true
		}
	}
	if name != user {
		return nil, false
	}
	if !rolesSet {
		roles = []string{}
	}
	return roles, true
}

// writeAtomic replaces path with data: temporary file, fsync, rename, then
// fsync of the directory. old is the replaced file's info, or nil.
func writeAtomic(path string, data []byte, mode fs.FileMode, old fs.FileInfo) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // after a successful rename this fails harmlessly
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if old != nil {
		keepOwner(f, old)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: the rename is done either way
		d.Close()
	}
	return nil
}
