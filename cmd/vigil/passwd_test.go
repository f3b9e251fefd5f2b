package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswd(t *testing.T) {
	t.Run("adds and updates a user line, keeping the rest of the file", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "auth.txt")
		os.WriteFile(file, []byte("# users\nrole name=admin abilities=manage\n"), 0o600)
		var out bytes.Buffer
		if err := passwd(context.Background(), []string{"--file", file, "--cipher", "md5", "--password", "pass1", "--force", "joshua", "admin"}, nil, &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(file)
		text := string(b)
		if !strings.Contains(text, "# users") || !strings.Contains(text, "role name=admin") ||
			!strings.Contains(text, "user name=joshua password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=admin") {
			t.Errorf("auth.txt after passwd:\n%s", text)
		}
		if err := passwd(context.Background(), []string{"--file", file, "mary", "admin"}, strings.NewReader("s3cret-enough\n"), &out, io.Discard); err != nil {
			t.Fatal(err)
		}
		b, _ = os.ReadFile(file)
		if !strings.Contains(string(b), "user name=mary password=$2") {
			t.Errorf("bcrypt by default, from standard input:\n%s", b)
		}
	})

	t.Run("a missing user is a usage error", func(t *testing.T) {
		err := passwd(context.Background(), []string{"--password", "x"}, nil, io.Discard, io.Discard)
		var ue usageError
		if err == nil || !strings.Contains(err.Error(), "USER") || !asUsage(err, &ue) {
			t.Errorf("passwd = %v, want a usage error", err)
		}
	})
}

func asUsage(err error, ue *usageError) bool {
	u, ok := err.(usageError)
	*ue = u
	return ok
}
