package auth

import (
	"encoding/base64"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

func TestVerify(t *testing.T) {
	s := mustParse(t, fixture)
	tests := []struct {
		name, user, password, realm string
		want                        bool
	}{
		{"GoAhead's MD5 HA1 (joshua/pass1, test/auth.txt)", "joshua", "pass1", "example.com", true},
		{"GoAhead's MD5 HA1 (mary/pass2)", "mary", "pass2", "example.com", true},
		{"MD5 with a wrong password", "joshua", "pass2", "example.com", false},
		{"MD5 with a password differing in the last byte", "joshua", "pass", "example.com", false},
		{"MD5 with the right password in another realm", "joshua", "pass1", "other.example", false},
		{"MD5 with an empty password", "joshua", "", "example.com", false},
		{"bcrypt $2b$ (made by libxcrypt)", "brenda", "pass1", "example.com", true},
		{"bcrypt ignores the realm", "brenda", "pass1", "other.example", true},
		{"bcrypt with a wrong password", "brenda", "pass2", "example.com", false},
		{"bcrypt with the password plus 80 more bytes", "brenda", "pass1" + strings.Repeat("x", 80), "example.com", false},
		{"gopass's BF1 (over user:realm:password)", "bob", "pass1", "example.com", true},
		{"gopass's BF1 with a wrong password", "bob", "pass2", "example.com", false},
		{"gopass's BF1 in another realm", "bob", "pass1", "other.example", false},
		{"websMakePassword's BF1 (over the password)", "carl", "pass1", "example.com", true},
		{"websMakePassword's BF1 with a wrong password", "carl", "Pass1", "example.com", false},
		{"sha256: HA1", "sam", "pass1", "example.com", true},
		{"sha256: HA1 with a wrong password", "sam", "pass2", "example.com", false},
		{"an unknown user", "nobody", "pass1", "example.com", false},
		{"a user name differing in case", "Joshua", "pass1", "example.com", false},
		{"a password with a NUL byte", "joshua", "pass1\x00", "example.com", false},
		{"a password longer than MaxPasswordLen", "joshua", strings.Repeat("p", MaxPasswordLen+1), "example.com", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Verify(tt.user, tt.password, tt.realm); got != tt.want {
				t.Errorf("Verify(%q, %q, %q) = %v, want %v", tt.user, tt.password, tt.realm, got, tt.want)
			}
		})
	}
}

func TestVerifyBcryptVariants(t *testing.T) {
	// $2y$ (PHP, htpasswd) and $2a$ vectors made by libxcrypt's crypt(3).
	tests := []struct{ name, hash string }{
		{"$2y$", "$2y$04$abcdefghijklmnopqrstuuYBrRGzh42Kt0RScCct/7ghURT3A8KrC"},
		{"$2a$", "$2a$05$ABCDEFGHIJKLMNOPQRSTUuUJG0HBahEckvaCbO4kQYXPb/75whcLi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := mustParse(t, "user name=u password="+tt.hash)
			if !s.Verify("u", "pass1", "") {
				t.Error("the right password does not verify")
			}
			if s.Verify("u", "pass2", "") {
				t.Error("a wrong password verifies")
			}
		})
	}
}

// TestBF1MatchesGoAhead checks bf1 against vectors from GoAhead itself.
// They were derived by building GoAhead 6.1.0 (github.com/embedthis/goahead
// 9b4deb0) unmodified with its projects/goahead-linux-default.mk on x86-64,
// and calling its websCryptPassword(password, salt, rounds) from a
// three-line C program linked to libgo (for the raw hashes), and running
// its gopass (--cipher blowfish, and for carl "BF1:00128:SALT:" +
// websCryptPassword("pass1", SALT, 128), websMakePassword's format). The
// cases cover 1 and many rounds, an empty secret, and a key longer than 72
// bytes (only 72 are read) and than x/crypto's 56-byte NewCipher limit.
// websCheckPassword accepted gopass's hash for "joshua:example.com:pass1"
// and refused it for "pass1".
func TestBF1MatchesGoAhead(t *testing.T) {
	vectors := []struct {
		name, secret, salt string
		rounds             int
		want               string
	}{
		{"gopass's input, 128 rounds", "joshua:example.com:pass1", "Ab3dEf6hIj9lMn2p", 128, "GVZST+8mjUQyUHGaJ2COaYPiHnEVQ3No"},
		{"a plain password, 128 rounds", "pass1", "Ab3dEf6hIj9lMn2p", 128, "QYiSo5XJHlEnI223+anaa99vpUzy4YJG"},
		{"5 rounds", "joshua:example.com:pass1", "Ab3dEf6hIj9lMn2p", 5, "7Y6SOtIMQW1X1Q3a3anAK+UoPucwDQrc"},
		{"1 round, one-byte secret", "x", "s", 1, "PaTRTFaulA5wnXMNZ01MqeRJHy8DTyzC"},
		{"an empty secret", "", "s", 1, "rNMGp9KlLvFhkGP9dxcml6RoopUJPBw1"},
		{"a single-letter password", "p", "0123456789abcdef", 128, "ycJvdEg0aQjPivbjZ5Fs3N11Pv5kR44g"},
		{"an 85-byte key", "abcdefghijklmnopqrstuvwxyz012345", "SaltSaltSaltSaltSaltSaltSaltSaltSaltSaltSaltSaltSalt", 3, "KR1BM4IXSqx2guufVpkHcZMPzlTP1/yN"},
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			got := base64.StdEncoding.EncodeToString(bf1Bytes(bf1(v.salt, v.secret, v.rounds), binary.LittleEndian))
			if got != v.want {
				t.Errorf("bf1 = %s, GoAhead says %s", got, v.want)
			}
		})
	}
	gopass := []string{ // gopass --cipher blowfish --password pass1 example.com joshua …
		"BF1:00128:9ORPUJ9D5sCyAs0O:32UBf+TXm4ocWu2ee7Nd3Rbftn9jLfeX",
		"BF1:00128:AwX4QpCFi2OfEdzD:qk9M5raaAZZ0e6KIffH77z2EY71X/liw",
	}
	for _, h := range gopass {
		s := mustParse(t, "user name=joshua password="+h)
		if !s.Verify("joshua", "pass1", "example.com") {
			t.Errorf("gopass's %s does not verify", h)
		}
		if s.Verify("joshua", "pass2", "example.com") {
			t.Errorf("gopass's %s verifies a wrong password", h)
		}
	}
}

func TestBF1BigEndianHosts(t *testing.T) {
	// A GoAhead on a big-endian CPU writes the same words the other way round.
	w := bf1("QmZ0Tx2pLk7sWc4R", "pass1", 128)
	h := "BF1:00128:QmZ0Tx2pLk7sWc4R:" + base64.StdEncoding.EncodeToString(bf1Bytes(w, binary.BigEndian))
	s := mustParse(t, "user name=carl password="+h)
	if !s.Verify("carl", "pass1", "example.com") {
		t.Error("a big-endian BF1 hash does not verify")
	}
	if s.Verify("carl", "pass2", "example.com") {
		t.Error("a big-endian BF1 hash verifies a wrong password")
	}
}

func TestMakePassword(t *testing.T) {
	tests := []struct {
		cipher string
		prefix string
		want   string // exact, for deterministic ciphers
	}{
		{"", "$2a$10$", ""},
		{"bcrypt", "$2a$10$", ""},
		{"md5", "", "2fd6e47ff9bb70c0465fd2f5c8e5305e"},
		{"sha256", "sha256:", "sha256:f4b0ca24f05a0358f232c8c373a2b57b0ec1f1029281b66b280d7189f1449a52"},
		{"blowfish", "BF1:00128:", ""},
	}
	for _, tt := range tests {
		t.Run("cipher "+tt.cipher+" round-trips", func(t *testing.T) {
			h, err := MakePassword(tt.cipher, "joshua", "example.com", "pass1")
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(h, tt.prefix) || (tt.want != "" && h != tt.want) {
				t.Fatalf("MakePassword = %q, want prefix %q / %q", h, tt.prefix, tt.want)
			}
			s := mustParse(t, "user name=joshua password="+h)
			if !s.Verify("joshua", "pass1", "example.com") {
				t.Error("its own hash does not verify")
			}
			if s.Verify("joshua", "pass2", "example.com") {
				t.Error("a wrong password verifies")
			}
		})
	}
	t.Run("blowfish salts differ", func(t *testing.T) {
		a, _ := MakePassword("blowfish", "u", "r", "p")
		b, _ := MakePassword("blowfish", "u", "r", "p")
		if a == b {
			t.Errorf("two BF1 hashes are equal: %s", a)
		}
		salt := strings.Split(a, ":")[2]
		if len(salt) != 16 || strings.Trim(salt, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Errorf("salt %q is not 16 of [A-Za-z0-9]", salt)
		}
	})
}

func TestMakePasswordErrors(t *testing.T) {
	tests := []struct{ name, cipher, user, realm, password, err string }{
		{"an unknown cipher", "des", "u", "r", "p", `unknown cipher "des"`},
		{"an empty password", "md5", "u", "r", "", "empty password"},
		{"a NUL in the password", "md5", "u", "r", "a\x00b", "NUL"},
		{"a colon in the user name", "md5", "a:b", "r", "p", `has a ':'`},
		{"an empty user name", "bcrypt", "", "r", "p", "empty user name"},
		{"an empty realm for md5", "md5", "u", "", "p", "empty realm"},
		{"bcrypt over 72 bytes", "bcrypt", "u", "r", strings.Repeat("p", 73), "72 bytes"},
		{"blowfish input past what BF1 reads", "blowfish", "u", "r", strings.Repeat("p", 60), "BF1 reads only the first 55"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := MakePassword(tt.cipher, tt.user, tt.realm, tt.password)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("MakePassword = %v, want an error with %q", err, tt.err)
			}
		})
	}
}

func TestUnknownUserTakesAsLongAsAKnownOne(t *testing.T) {
	h, err := bcrypt.GenerateFromPassword([]byte("pass1"), 8)
	if err != nil {
		t.Fatal(err)
	}
	s := mustParse(t, "user name=fast password=2fd6e47ff9bb70c0465fd2f5c8e5305e\nuser name=slow password="+string(h))
	if s.dummy == nil || s.dummy.kind != kindBcrypt {
		t.Fatalf("dummy = %+v, want the bcrypt hash", s.dummy)
	}
	fastest := func(user string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			s.Verify(user, "wrong", "example.com")
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := fastest("slow"), fastest("nobody")
	if unknown < known/3 {
		t.Errorf("an unknown user took %v, a known bcrypt user %v", unknown, known)
	}
}

func TestSetUser(t *testing.T) {
	const md5 = "2fd6e47ff9bb70c0465fd2f5c8e5305e"
	const other = "5b90553bea8ba3686f4239d62801f0f3"
	tests := []struct {
		name   string
		before string // "" = no file
		user   string
		roles  []string
		after  string
	}{
		{
			name:  "a new file gets the line",
			user:  "joshua",
			roles: []string{"administrator", "purchase"},
			after: "user name=joshua password=" + md5 + " roles=administrator,purchase\n",
		},
		{
			name:   "an existing user's line is replaced in place, comments and routes kept",
			before: "# users\nrole name=r abilities=a\nuser name=joshua password=" + other + " roles=r   \n# end\nroute uri=/x\n",
			user:   "joshua",
			roles:  []string{"r", "x"},
			after:  "# users\nrole name=r abilities=a\nuser name=joshua password=" + md5 + " roles=r,x\n# end\nroute uri=/x\n",
		},
		{
			name:   "nil roles keep the user's roles",
			before: "user name=joshua password=" + other + " roles=administrator,purchase\n",
			user:   "joshua",
			after:  "user name=joshua password=" + md5 + " roles=administrator,purchase\n",
		},
		{
			name:   "empty roles drop them",
			before: "user name=joshua password=" + other + " roles=administrator\n",
			user:   "joshua",
			roles:  []string{},
			after:  "user name=joshua password=" + md5 + "\n",
		},
		{
			name:   "a new user is appended after a last line without newline",
			before: "user name=mary password=" + other,
			user:   "joshua",
			after:  "user name=mary password=" + other + "\nuser name=joshua password=" + md5 + "\n",
		},
		{
			name:   "CRLF files stay CRLF",
			before: "user name=mary password=" + other + "\r\n",
			user:   "joshua",
			roles:  []string{"r"},
			after:  "user name=mary password=" + other + "\r\nuser name=joshua password=" + md5 + " roles=r\r\n",
		},
		{
			name:   "a user whose name is a prefix is not touched",
			before: "user name=joshua2 password=" + other + "\n",
			user:   "joshua",
			after:  "user name=joshua2 password=" + other + "\nuser name=joshua password=" + md5 + "\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "auth.txt")
			if tt.before != "" {
				if err := os.WriteFile(p, []byte(tt.before), 0o640); err != nil {
					t.Fatal(err)
				}
			}
			if err := SetUser(p, tt.user, md5, tt.roles); err != nil {
				t.Fatal(err)
			}
			got, _ := os.ReadFile(p)
			if string(got) != tt.after {
				t.Errorf("file\n got: %q\nwant: %q", got, tt.after)
			}
			fi, _ := os.Stat(p)
			wantMode := os.FileMode(0o640)
			if tt.before == "" {
				wantMode = 0o600
			}
			if fi.Mode().Perm() != wantMode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), wantMode)
			}
			ents, _ := os.ReadDir(filepath.Dir(p))
			if len(ents) != 1 {
				t.Errorf("directory holds %d entries, want only auth.txt (no temp file left)", len(ents))
			}
		})
	}
}

func TestSetUserRefuses(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "auth.txt")
	const good = "user name=mary password=5b90553bea8ba3686f4239d62801f0f3\n"
	tests := []struct {
		name, before, user, hash string
		roles                    []string
		err                      string
	}{
		{"a hash that is no hash", good, "u", "secret", nil, "not a known hash"},
		{"a bad user name", good, "a b", "2fd6e47ff9bb70c0465fd2f5c8e5305e", nil, "space"},
		{"a role with a comma", good, "u", "2fd6e47ff9bb70c0465fd2f5c8e5305e", []string{"a,b"}, "bad role"},
		{"an existing file that does not parse", "user name=x\n", "u", "2fd6e47ff9bb70c0465fd2f5c8e5305e", nil, "fix " + p + " first"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.WriteFile(p, []byte(tt.before), 0o600)
			err := SetUser(p, tt.user, tt.hash, tt.roles)
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("SetUser = %v, want an error with %q", err, tt.err)
			}
			if got, _ := os.ReadFile(p); string(got) != tt.before {
				t.Errorf("file changed to %q", got)
			}
		})
	}
}

func TestSetUserFollowsSymlinks(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real.txt")
	link := filepath.Join(dir, "auth.txt")
	os.WriteFile(real, nil, 0o600)
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	if err := SetUser(link, "joshua", "2fd6e47ff9bb70c0465fd2f5c8e5305e", nil); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced by a file")
	}
	if s, err := Load(link); err != nil || !s.HasUser("joshua") {
		t.Errorf("Load = %v, %v", s, err)
	}
}
