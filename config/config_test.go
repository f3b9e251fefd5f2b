package config

import (
	"cmp"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigilhttp/vigil"
)

const full = `# every key
listen = ["localhost:8080", "[::1]:8443"]
root = "/srv/www"
header-timeout = "5s"
stall-timeout = "20s"
min-rate = "1KiB"
transfer-timeout = "10m"
idle-timeout = "1m"
handler-timeout = "90s"
shutdown-timeout = "15s"
body-limit = "64MiB"
max-conns = 2048
max-conns-per-ip = -1
admin = "127.0.0.1:9090"
admin-remote = true
upload-dir = "uploads"
access-log = "/var/log/vigil/access.log"
log-level = "debug"
log-format = "json"
body-min-rate = "none"
route = "/etc/vigil/route.txt"
auth = "/etc/vigil/auth.txt"
realm = "device.local"
tls-cert = "cert.pem"
tls-key = "/etc/vigil/key.pem"
tls-self-signed = "tls"
hsts = "8760h"
tls-name = ["router.local", "192.0.2.1"]
`

func TestParse(t *testing.T) {
	all := map[string]bool{} // the keys full sets
	for _, line := range strings.Split(full, "\n") {
		if k, _, ok := strings.Cut(line, " = "); ok {
			all[k] = true
		}
	}
	tests := []struct {
		name string
		data string
		want *File
	}{
		{
			name: "a file setting every key yields every value",
			data: full,
			want: &File{
				Path: "/etc/vigil/vigil.conf",
				Config: vigil.Config{
					Listen:          []string{"localhost:8080", "[::1]:8443"},
					Root:            "/srv/www",
					HeaderTimeout:   5 * time.Second,
					StallTimeout:    20 * time.Second,
					MinRate:         1024,
					BodyMinRate:     -1,
					TransferTimeout: 10 * time.Minute,
					IdleTimeout:     time.Minute,
					HandlerTimeout:  90 * time.Second,
					ShutdownTimeout: 15 * time.Second,
					BodyLimit:       64 << 20,
					MaxConns:        2048,
					MaxConnsPerIP:   -1,
					Admin:           "127.0.0.1:9090",
					UploadDir:       "/etc/vigil/uploads",
					Route:           "/etc/vigil/route.txt",
					Auth:            "/etc/vigil/auth.txt",
					Realm:           "device.local",
					TLSCert:         "/etc/vigil/cert.pem",
					TLSKey:          "/etc/vigil/key.pem",
					TLSSelfSigned:   "/etc/vigil/tls",
					HSTS:            8760 * time.Hour,
					TLSNames:        []string{"router.local", "192.0.2.1"},
				},
				Command: Command{
					AdminRemote:   true,
					AccessLogPath: "/var/log/vigil/access.log",
					LogLevel:      "debug",
					LogFormat:     "json",
				},
				set: all,
			},
		},
		{
			name: "an empty file sets nothing and the realm defaults",
			data: "",
			want: &File{Path: "/etc/vigil/vigil.conf", Config: vigil.Config{Realm: DefaultRealm}, set: map[string]bool{}},
		},
		{
			name: "a size may be a plain integer and a zero duration is kept",
			data: "body-limit = 1048576\nmin-rate = 0\ntransfer-timeout = \"0s\"\n",
			want: &File{
				Path: "/etc/vigil/vigil.conf", Config: vigil.Config{BodyLimit: 1 << 20, Realm: DefaultRealm},
				set: map[string]bool{"body-limit": true, "min-rate": true, "transfer-timeout": true},
			},
		},
		{
			name: "admin off and access-log to standard output are kept as written",
			data: "admin = \"off\"\naccess-log = \"-\"\n",
			want: &File{
				Path: "/etc/vigil/vigil.conf", Config: vigil.Config{Admin: "off", Realm: DefaultRealm}, Command: Command{AccessLogPath: "-"},
				set: map[string]bool{"admin": true, "access-log": true},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse("/etc/vigil/vigil.conf", []byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		data string
		want string
	}{
		{
			name: "a duration that does not parse names file, line and key",
			data: "root = \"/srv\"\n\n# comment\nstall-timeout = \"soon\"\n",
			want: `vigil.conf:4: stall-timeout: "soon" is not a duration`,
		},
		{
			name: "a duration written as an integer is a type error",
			data: "idle-timeout = 30\n",
			want: `vigil.conf:1: idle-timeout: want a duration string, like "30s", got integer 30`,
		},
		{
			name: "a negative duration is refused",
			data: "\nheader-timeout = \"-5s\"\n",
			want: `vigil.conf:2: header-timeout: "-5s" is negative`,
		},
		{
			name: "an unquoted duration is a syntax error with a hint",
			data: "root = \"/srv\"\nstall-timeout = 30s # too short?\n",
			want: `vigil.conf:2: stall-timeout: write a duration as a string: "30s"`,
		},
		{
			name: "an unquoted size with a unit is a syntax error with a hint",
			data: "body-limit = 64MiB\n",
			want: `vigil.conf:1: body-limit: write a size as a string or a plain integer: "64MiB"`,
		},
		{
			name: "a size that does not parse is refused",
			data: "body-limit = \"lots\"\n",
			want: `vigil.conf:1: body-limit: "lots" is not a size (want bytes, or a number and a unit: KiB, MiB, GiB, KB, MB, GB)`,
		},
		{
			name: "a negative integer size is refused",
			data: "body-limit = -1\n",
			want: `vigil.conf:1: body-limit: -1 is negative`,
		},
		{
			name: "a negative size string is refused",
			data: "min-rate = \"-1KiB\"\n",
			want: `vigil.conf:1: min-rate: "-1KiB" is negative`,
		},
		{
			name: "a size as a float is a type error",
			data: "body-limit = 1.5\n",
			want: `vigil.conf:1: body-limit: want a size, like 1048576 or "1MiB", got float 1.5`,
		},
		{
			name: "a count as a string is a type error",
			data: "max-conns = \"many\"\n",
			want: `vigil.conf:1: max-conns: want an integer, got string "many"`,
		},
		{
			name: "a string key given a boolean is a type error",
			data: "root = true\n",
			want: `vigil.conf:1: root: want a string, got boolean true`,
		},
		{
			name: "a known key given a table is a type error at the table header",
			data: "realm = \"x\"\n\n[root]\ndir = \"/srv\"\n",
			want: `vigil.conf:3: root: want a string, got a table`,
		},
		{
			name: "listen as a single string is a type error",
			data: "listen = \"localhost:8080\"\n",
			want: `vigil.conf:1: listen: want an array of strings, like ["localhost:8080"], got string "localhost:8080"`,
		},
		{
			name: "listen with a non-string element names the element",
			data: "listen = [\n  \"localhost:8080\",\n  8080,\n]\n",
			want: `vigil.conf:1: listen: element 2: want a string, got integer 8080`,
		},
		{
			name: "listen with an address without a port is refused",
			data: "listen = [\"localhost\"]\n",
			want: `vigil.conf:1: listen: "localhost" is not host:port, http://host:port or https://host:port`,
		},
		{
			name: "an empty listen array is refused",
			data: "listen = []\n",
			want: `vigil.conf:1: listen: is empty (leave the key out for the default)`,
		},
		{
			name: "an unknown log level is refused",
			data: "log-level = \"loud\"\n",
			want: `vigil.conf:1: log-level: "loud" is not a log level (want debug, info, warn or error)`,
		},
		{
			name: "an unknown log format is refused",
			data: "log-format = \"xml\"\n",
			want: `vigil.conf:1: log-format: "xml" is not one of text, json`,
		},
		{
			name: "an admin address that is neither socket nor host:port is refused",
			data: "admin = \"localhost\"\n",
			want: `vigil.conf:1: admin: "localhost" is neither unix:PATH nor host:port nor off`,
		},
		{
			name: "an admin socket without a path is refused",
			data: "admin = \"unix:\"\n",
			want: `vigil.conf:1: admin: "unix:" needs a socket path`,
		},
		{
			name: "an empty realm is refused",
			data: "realm = \"\"\n",
			want: `vigil.conf:1: realm: is empty`,
		},
		{
			name: "a misspelt key is unknown and the closest key is suggested",
			data: "root = \"/srv\"\n\nstal-timeout = \"30s\"\n",
			want: `vigil.conf:3: unknown key "stal-timeout" (did you mean "stall-timeout"?)`,
		},
		{
			name: "a key in snake case suggests the kebab-case key",
			data: "max_conns_per_ip = 8\n",
			want: `vigil.conf:1: unknown key "max_conns_per_ip" (did you mean "max-conns-per-ip"?)`,
		},
		{
			name: "a key in the wrong case suggests the right one",
			data: "Root = \"/srv\"\n",
			want: `vigil.conf:1: unknown key "Root" (did you mean "root"?)`,
		},
		{
			name: "a key far from every key gets no suggestion",
			data: "colour = \"blue\"\n",
			want: `vigil.conf:1: unknown key "colour"`,
		},
		{
			name: "an unknown table is reported at its header",
			data: "realm = \"x\"\n[server]\nport = 80\n",
			want: `vigil.conf:2: unknown key "server"`,
		},
		{
			name: "an implicitly created table is reported at its first key",
			data: "realm = \"x\"\n\n[tls.cert]\nfile = \"a.pem\"\n",
			want: `vigil.conf:3: unknown key "tls"`,
		},
		{
			name: "a dotted key is reported at its line",
			data: "realm = \"x\"\nlimits.body = 5\n",
			want: `vigil.conf:2: unknown key "limits"`,
		},
		{
			name: "a key set twice is a syntax error at the second",
			data: "root = \"/a\"\nroot = \"/b\"\n",
			want: `vigil.conf:2: root: Key 'root' has already been defined.`,
		},
		{
			name: "an unterminated string is a syntax error",
			data: "realm = \"x\nroot = \"/srv\"\n",
			want: `vigil.conf:1: realm: strings cannot contain newlines`,
		},
		{
			name: "every problem is reported, in the order of the file",
			data: "max-conns = \"x\"\nstal-timeout = \"1s\"\nbody-limit = -5\n",
			want: "vigil.conf:1: max-conns: want an integer, got string \"x\"\n" +
				"vigil.conf:2: unknown key \"stal-timeout\" (did you mean \"stall-timeout\"?)\n" +
				"vigil.conf:3: body-limit: -5 is negative",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("vigil.conf", []byte(tt.data))
			if err == nil {
				t.Fatalf("no error; got %+v", f)
			}
			if f != nil {
				t.Errorf("got a File with the error: %+v", f)
			}
			if err.Error() != tt.want {
				t.Errorf("error\n got  %s\n want %s", err, tt.want)
			}
		})
	}
}

func TestErrorFields(t *testing.T) {
	_, err := Parse("site/vigil.conf", []byte("realm = \"x\"\nstall-timeout = \"soon\"\n"))
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *Error", err, err)
	}
	want := &Error{File: "site/vigil.conf", Line: 2, Key: "stall-timeout", Msg: `stall-timeout: "soon" is not a duration`}
	if *e != *want {
		t.Errorf("got %+v, want %+v", e, want)
	}
}

func TestRelativePaths(t *testing.T) {
	data := []byte(`root = "www"
route = "route.txt"
auth = "../shared/auth.txt"
access-log = "log/access.log"
admin = "unix:run/admin.sock"
`)
	type paths struct{ Root, Route, Auth, AccessLog, Admin string }
	tests := []struct {
		name string
		file string
		want paths
	}{
		{
			name: "relative paths are resolved against the file's directory",
			file: "/etc/vigil/vigil.conf",
			want: paths{
				Root: "/etc/vigil/www", Route: "/etc/vigil/route.txt", Auth: "/etc/shared/auth.txt",
				AccessLog: "/etc/vigil/log/access.log", Admin: "unix:/etc/vigil/run/admin.sock",
			},
		},
		{
			name: "a file named without a directory leaves them relative to the working directory",
			file: "vigil.conf",
			want: paths{
				Root: "www", Route: "route.txt", Auth: "../shared/auth.txt",
				AccessLog: "log/access.log", Admin: "unix:run/admin.sock",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.file, data)
			if err != nil {
				t.Fatal(err)
			}
			got := paths{Root: f.Root, Route: f.Route, Auth: f.Auth, AccessLog: f.AccessLogPath, Admin: f.Admin}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}

	t.Run("absolute paths, host:port and standard output are left alone", func(t *testing.T) {
		f, err := Parse("/etc/vigil/vigil.conf", []byte(`root = "/srv/www"
access-log = "-"
admin = "[::1]:9090"
route = "/etc/route.txt"
`))
		if err != nil {
			t.Fatal(err)
		}
		if f.Root != "/srv/www" || f.AccessLogPath != "-" || f.Admin != "[::1]:9090" || f.Route != "/etc/route.txt" {
			t.Errorf("got root %q access-log %q admin %q route %q", f.Root, f.AccessLogPath, f.Admin, f.Route)
		}
	})

	t.Run("Load makes them absolute against the file's directory", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "etc"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "etc", "vigil.conf"), data, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Chdir(dir)
		f, err := Load("etc/vigil.conf")
		if err != nil {
			t.Fatal(err)
		}
		if f.Path != "etc/vigil.conf" {
			t.Errorf("Path = %q, want the name as given", f.Path)
		}
		// The temporary directory may be reached through a symbolic link:
		// compare with the working directory as Load saw it.
		wd, err := os.Getwd()
		if err != nil {
			t.Fatal(err)
		}
		if want := filepath.Join(wd, "etc", "www"); f.Root != want {
			t.Errorf("Root = %q, want %q", f.Root, want)
		}
		if want := "unix:" + filepath.Join(wd, "etc", "run", "admin.sock"); f.Admin != want {
			t.Errorf("Admin = %q, want %q", f.Admin, want)
		}
	})
}

func TestLoad(t *testing.T) {
	t.Run("a missing file is an error naming it", func(t *testing.T) {
		name := filepath.Join(t.TempDir(), "missing.conf")
		_, err := Load(name)
		if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), name) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("errors name the file as given", func(t *testing.T) {
		dir := t.TempDir()
		name := filepath.Join(dir, "vigil.conf")
		if err := os.WriteFile(name, []byte("\nmax-conns = 1.5\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Load(name)
		want := name + ":2: max-conns: want an integer, got float 1.5"
		if err == nil || err.Error() != want {
			t.Errorf("got %v, want %s", err, want)
		}
	})
}

func TestIsSet(t *testing.T) {
	f, err := Parse("vigil.conf", []byte("stall-timeout = \"0s\"\nmax-conns = 0\nlisten = [\":80\"]\n"))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Keys() {
		want := k == "stall-timeout" || k == "max-conns" || k == "listen"
		if got := f.IsSet(k); got != want {
			t.Errorf("IsSet(%q) = %v, want %v", k, got, want)
		}
	}
	if f.IsSet("no-such-key") {
		t.Error(`IsSet("no-such-key") = true`)
	}
	if f.StallTimeout != 0 || f.MaxConns != 0 {
		t.Errorf("zero values written in the file are kept: %v %v", f.StallTimeout, f.MaxConns)
	}
}

func TestExample(t *testing.T) {
	data, err := os.ReadFile("vigil.conf.example")
	if err != nil {
		t.Fatal(err)
	}
	// Uncomment every "# key = value" line: the result must be valid and set
	// every key exactly once.
	setting := regexp.MustCompile(`(?m)^# ([a-z-]+ = .*)$`)
	uncommented := setting.ReplaceAll(data, []byte("$1"))
	f, err := Parse("/etc/vigil/vigil.conf", uncommented)
	if err != nil {
		t.Fatalf("the example with every setting uncommented: %v", err)
	}
	for _, k := range Keys() {
		if !f.IsSet(k) {
			t.Errorf("the example does not document %q", k)
		}
	}
	t.Run("as shipped it sets nothing", func(t *testing.T) {
		f, err := Parse("vigil.conf.example", data)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range Keys() {
			if f.IsSet(k) {
				t.Errorf("%q is set; every key should be commented out", k)
			}
		}
	})
}

func TestSuggest(t *testing.T) {
	tests := []struct{ unknown, want string }{
		{"stal-timeout", "stall-timeout"},
		{"idle_timeout", "idle-timeout"},
		{"relm", "realm"},
		{"LISTEN", "listen"},
		{"bodylimit", "body-limit"},
		{"timeout", ""},
		{"x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.unknown+" suggests "+cmp.Or(tt.want, "nothing"), func(t *testing.T) {
			if got := suggest(tt.unknown); got != tt.want {
				t.Errorf("suggest(%q) = %q, want %q", tt.unknown, got, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(full))
	f.Add([]byte("stall-timeout = 30s\n"))
	f.Add([]byte("[a.b]\nc = 1\n"))
	f.Add([]byte("listen = [1, \"x\"]\nbody-limit = \"1.5KiB\"\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("vigil.conf", data)
		if err == nil {
			if file == nil || file.Realm == "" {
				t.Fatalf("no error and file %+v", file)
			}
			return
		}
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "vigil.conf:") {
				t.Fatalf("error line %q does not name the file", line)
			}
		}
	})
}
