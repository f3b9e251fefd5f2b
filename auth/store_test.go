package auth

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
)

func TestParse(t *testing.T) {
	s := mustParse(t, fixture)
	want := []string{"bob", "brenda", "carl", "joshua", "julie", "mary", "peter", "sam"}
	if got := s.Users(); !slices.Equal(got, want) {
		t.Fatalf("Users() = %v, want %v", got, want)
	}
	tests := []struct {
		name, user string
		abilities  []string
	}{
		{"a user's roles expand recursively into abilities", "joshua", []string{"breathe", "manage", "purchase", "view"}},
		{"a role listed by a user gives that role's abilities", "mary", []string{"breathe", "view"}},
		{"an unknown user has no abilities", "nobody", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Abilities(tt.user); !slices.Equal(got, tt.abilities) {
				t.Errorf("Abilities(%q) = %v, want %v", tt.user, got, tt.abilities)
			}
		})
	}
	if w := s.Warnings(); len(w) != 0 {
		t.Errorf("Warnings() = %v, want none", w)
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name, text string
		user       string
		abilities  []string
	}{
		{"CRLF line endings", "role name=r abilities=a\r\nuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=r\r\n", "u", []string{"a"}},
		{"tabs and repeated spaces between words", "user\tname=u  \t password=2fd6e47ff9bb70c0465fd2f5c8e5305e\troles=x", "u", []string{"x"}},
		{"gopass's trailing comma in abilities", "role name=r abilities=a,b,\nuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=r,", "u", []string{"a", "b"}},
		{"abilities separated by | as GoAhead's addOption", "role name=r abilities=a|b\nuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=r", "u", []string{"a", "b"}},
		{"the ability none is skipped in roles", "role name=r abilities=none\nuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=r", "u", []string{}},
		{"a user without roles", "user name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e", "u", []string{}},
		{"a role defined after the user", "user name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=r\nrole name=r abilities=a", "u", []string{"a"}},
		{"a comment word glued to #", "#user name=u\nuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e", "u", []string{}},
		{"an indented comment", "   # comment\nuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e", "u", []string{}},
		{"route lines with any keys", "route uri=/x whatever=1 auth=basic\nuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e", "u", []string{}},
		{"an upper-case MD5 HA1", "user name=u password=2FD6E47FF9BB70C0465FD2F5C8E5305E", "u", []string{}},
		{"a UTF-8 byte order mark", "\xef\xbb\xbfuser name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=a", "u", []string{"a"}},
		{"no newline at the end", "user name=u password=2fd6e47ff9bb70c0465fd2f5c8e5305e roles=a", "u", []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.text)
			if got := s.Abilities(tt.user); !slices.Equal(got, tt.abilities) {
				t.Errorf("Abilities(%q) = %v, want %v", tt.user, got, tt.abilities)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	const md5 = "password=2fd6e47ff9bb70c0465fd2f5c8e5305e"
	tests := []struct{ name, text, err string }{
		{"a user without password", "# c\n\nuser name=joshua roles=a", "auth.txt:3: user: missing password="},
		{"a user with an empty password", "user name=joshua password= roles=a", "auth.txt:1: user: missing password="},
		{"a user without name", "user " + md5, "auth.txt:1: user: missing name="},
		{"a role without name", "role abilities=a", "auth.txt:1: role: missing name="},
		{"an unknown user key", "user name=u " + md5 + " role=a", `auth.txt:1: user: unknown key "role" (want name=, password=, roles=)`},
		{"an unknown role key", "role name=r roles=a", `auth.txt:1: role: unknown key "roles" (want name=, abilities=)`},
		{"a word that is not key=value", "user name=u " + md5 + " admin", `auth.txt:1: user: "admin" is not key=value`},
		{"an inline comment (GoAhead has none)", "user name=u " + md5 + " # note", `auth.txt:1: user: "#" is not key=value`},
		{"a duplicate key", "user name=u name=v " + md5, "auth.txt:1: user: duplicate key name="},
		{"a duplicate user", "user name=u " + md5 + "\n\nuser name=u " + md5, `auth.txt:3: user: duplicate user "u" (first on line 1)`},
		{"a duplicate role", "role name=r\nrole name=r abilities=a", `auth.txt:2: role: duplicate role "r" (first on line 1)`},
		{"an unknown keyword", "users name=u", `auth.txt:1: unknown keyword "users" (want user, role or route)`},
		{"a quoted value", `user name="u" ` + md5, `auth.txt:1: user: name= contains '"': auth.txt values are not quoted`},
		{"a colon in a user name", "user name=a:b " + md5, `auth.txt:1: user: name=: user name "a:b" has a ':'`},
		{"a plain-text password", "user name=u password=secret", `auth.txt:1: user: password= of "u": not a known hash (want 32 hex digits of MD5 HA1, sha256:, BF1: or bcrypt $2a$/$2b$/$2y$)`},
		{"a short sha256 HA1", "user name=u password=sha256:abcd", `auth.txt:1: user: password= of "u": sha256: wants 64 hex digits`},
		{"a BF1 hash without salt", "user name=u password=BF1:00128::QNEubXKBVONJXpM3fIbDirHR5VacOBD3", `auth.txt:1: user: password= of "u": BF1: empty salt`},
		{"a BF1 hash with zero rounds", "user name=u password=BF1:00000:s:QNEubXKBVONJXpM3fIbDirHR5VacOBD3", `auth.txt:1: user: password= of "u": BF1: rounds "00000": want 1 to 99999`},
		{"a BF1 hash that is not base64", "user name=u password=BF1:00128:s:not-base64", `auth.txt:1: user: password= of "u": BF1: hash is not 32 characters of base64`},
		{"a BF1 hash with too few fields", "user name=u password=BF1:00128:s", `auth.txt:1: user: password= of "u": BF1: want BF1:ROUNDS:SALT:HASH`},
		{"a truncated bcrypt hash", "user name=u password=$2b$04$abcdefghijklmnopqrstuu", `auth.txt:1: user: password= of "u": bad bcrypt hash: want 60 characters, salt and hash in bcrypt's base64`},
		{"a bcrypt cost too high", "user name=u password=$2b$17$abcdefghijklmnopqrstuuYBrRGzh42Kt0RScCct/7ghURT3A8KrC", `auth.txt:1: user: password= of "u": bcrypt cost 17 is above 16: each login would take seconds`},
		{"a control character", "user name=u\x00 " + md5, `auth.txt:1: control character '\x00' at column 12`},
		{"a lone carriage return", "user name=u\rrole name=r", `auth.txt:1: control character '\r' at column 12`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("auth.txt", strings.NewReader(tt.text))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tt.err)
			}
			if err.Error() != tt.err {
				t.Errorf("Parse error\n got: %s\nwant: %s", err, tt.err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "auth.txt" {
				t.Errorf("error %T is not a *ParseError for auth.txt", err)
			}
		})
	}
}

func TestParseRefusesHugeAndBrokenInput(t *testing.T) {
	t.Run("a file larger than MaxFileSize", func(t *testing.T) {
		big := strings.NewReader(strings.Repeat("#\n", MaxFileSize/2+1))
		if _, err := Parse("big.txt", big); err == nil || !strings.Contains(err.Error(), "larger than") {
			t.Errorf("Parse = %v, want a size error", err)
		}
	})
	t.Run("a read error", func(t *testing.T) {
		_, err := Parse("x.txt", iotest.ErrReader(errors.New("disk on fire")))
		if err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("Parse = %v, want the read error", err)
		}
	})
}

func TestRoleExpansion(t *testing.T) {
	const pw = " password=2fd6e47ff9bb70c0465fd2f5c8e5305e"
	chain := func(n int) string {
		var b strings.Builder
		for i := range n {
			b.WriteString("role name=r" + strconv.Itoa(i) + " abilities=a" + strconv.Itoa(i) + ",r" + strconv.Itoa(i+1) + "\n")
		}
		return b.String() + "user name=u" + pw + " roles=r0\n"
	}
	tests := []struct {
		name, text string
		abilities  []string
		warning    string
	}{
		{
			name:      "a two-role cycle keeps the abilities on the way",
			text:      "role name=a abilities=b,x\nrole name=b abilities=a,y\nuser name=u" + pw + " roles=a",
			abilities: []string{"x", "y"},
			warning:   "role cycle: a -> b -> a",
		},
		{
			name:      "a role listing itself",
			text:      "role name=a abilities=a,x\nuser name=u" + pw + " roles=a",
			abilities: []string{"x"},
			warning:   "role cycle: a -> a",
		},
		{
			name:      "a diamond is not a cycle",
			text:      "role name=top abilities=l,r\nrole name=l abilities=base\nrole name=r abilities=base\nrole name=base abilities=z\nuser name=u" + pw + " roles=top",
			abilities: []string{"z"},
		},
		{
			name:      "role names are not abilities",
			text:      "role name=admin abilities=manage\nuser name=u" + pw + " roles=admin",
			abilities: []string{"manage"},
		},
		{
			name:      "a user's role that is no role is an ability",
			text:      "user name=u" + pw + " roles=purchase,view",
			abilities: []string{"purchase", "view"},
		},
		{
			name:      "nesting of exactly MaxRoleDepth levels is expanded",
			text:      chain(MaxRoleDepth),
			abilities: abilitiesUpTo(MaxRoleDepth, true),
		},
		{
			name:      "nesting deeper than MaxRoleDepth stops there",
			text:      chain(MaxRoleDepth + 5),
			abilities: abilitiesUpTo(MaxRoleDepth, false),
			warning:   `roles nest deeper than 20 ("a20" is at depth 21); the deeper entries are ignored`,
		},
		{
			name:      "a role with more than 20 abilities keeps them all (GoAhead's sibling count does not)",
			text:      "role name=big abilities=" + strings.Join(abilitiesUpTo(29, false), ",") + "\nuser name=u" + pw + " roles=big",
			abilities: abilitiesUpTo(29, false),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, tt.text)
			got := s.Abilities("u")
			want := slices.Sorted(slices.Values(tt.abilities))
			if !slices.Equal(got, want) {
				t.Errorf("Abilities = %v, want %v", got, want)
			}
			w := s.Warnings()
			switch {
			case tt.warning == "" && len(w) > 0:
				t.Errorf("Warnings = %q, want none", w)
			case tt.warning != "" && !slices.Contains(w, tt.warning):
				t.Errorf("Warnings = %q, want %q", w, tt.warning)
			}
		})
	}
}

// abilitiesUpTo returns a0…a{n-1}, plus "r{n}" if the chain ends in an
// undefined role name (which then counts as an ability).
func abilitiesUpTo(n int, withTail bool) []string {
	var out []string
	for i := range n {
		out = append(out, "a"+strconv.Itoa(i))
	}
	if withTail {
		out = append(out, "r"+strconv.Itoa(n))
	}
	return out
}

func TestCan(t *testing.T) {
	s := mustParse(t, fixture)
	tests := []struct {
		name      string
		user      string
		abilities [][]string
		want      bool
	}{
		{"no abilities required admits any user", "mary", nil, true},
		{"an empty alternative admits any user", "mary", [][]string{{}}, true},
		{"an unknown user never can", "nobody", nil, false},
		{"one ability the user has", "mary", [][]string{{"view"}}, true},
		{"AND: all abilities present", "joshua", [][]string{{"view", "manage", "purchase"}}, true},
		{"AND: one ability missing", "mary", [][]string{{"view", "manage"}}, false},
		{"OR: the second alternative holds", "mary", [][]string{{"manage"}, {"breathe"}}, true},
		{"OR: no alternative holds", "mary", [][]string{{"manage"}, {"purchase", "view"}}, false},
		{"a role name is not an ability", "joshua", [][]string{{"administrator"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Can(tt.user, tt.abilities); got != tt.want {
				t.Errorf("Can(%q, %v) = %v, want %v", tt.user, tt.abilities, got, tt.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "auth.txt")
	if err := os.WriteFile(p, []byte(fixture), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Run("a good file loads", func(t *testing.T) {
		s, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Verify("joshua", "pass1", "example.com") {
			t.Error("joshua/pass1 does not verify")
		}
	})
	t.Run("errors name the path and line", func(t *testing.T) {
		bad := filepath.Join(dir, "bad.txt")
		os.WriteFile(bad, []byte("\n\nuser name=x\n"), 0o600)
		_, err := Load(bad)
		if err == nil || err.Error() != bad+":3: user: missing password=" {
			t.Errorf("Load = %v", err)
		}
	})
	t.Run("a missing file", func(t *testing.T) {
		_, err := Load(filepath.Join(dir, "nope.txt"))
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Load = %v, want ErrNotExist", err)
		}
	})
}

func TestNilStore(t *testing.T) {
	var s *Store
	if s.Verify("joshua", "pass1", "example.com") || s.HasUser("joshua") || s.Can("joshua", nil) ||
		s.Users() != nil || s.Abilities("joshua") != nil || s.Warnings() != nil {
		t.Error("a nil Store must have no users")
	}
}
