package jst

import (
	"flag"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/pages/*.html from the renders")

// nvram is the configuration the firmware-style pages read.
var nvram = map[string]string{
	"lan_ipaddr":  "192.168.1.1",
	"lan_netmask": "255.255.255.0",
	"HostName":    `lab"><script>alert(1)</script>`,
	"dhcpEnabled": "1",
	"dhcpStart":   "192.168.1.100",
	"dhcpEnd":     "192.168.1.200",
	"dhcpLease":   "86400",
	"dhcpStatic1": "00:11:22:33:44:55;192.168.1.10",
	"dhcpStatic2": "",
	"dhcpStatic3": "66:77:88:99:aa:bb;192.168.1.11",
}

var sys = map[string]string{
	"cpu.load.1": "0.42", "cpu.load.5": "0.30", "cpu.load.15": "0.25",
	"uptime": "3 days, 04:05", "mem.free": "21000", "mem.total": "62000", "cpu.count": "2",
	"client.0": "aa", "client.1": "bb", "client.2": "cc",
}

// firmware binds functions shaped like the Ralink SDK's getCfgGeneral and
// getCfgZero (type 1 writes the value, type 0 returns it), ASUSWRT's
// sysinfo, and GoAhead's documentation example aspTest.
func firmware(e *Engine) {
	cfg := func(zero bool) Func {
		return func(c *Call) error {
			v := nvram[c.Arg(1)]
			if zero && v == "" {
				v = "0"
			}
			if c.Arg(0) == "1" {
				_, err := c.WriteString(v)
				return err
			}
			c.Return(v)
			return nil
		}
	}
	e.Define("getCfgGeneral", cfg(false))
	e.Define("getCfgZero", cfg(true))
	e.Define("sysinfo", func(c *Call) error { _, err := c.WriteString(sys[c.Arg(0)]); return err })
	e.Define("sysval", func(c *Call) error { c.Return(sys[c.Arg(0)]); return nil })
	e.Define("aspTest", func(c *Call) error {
		_, err := c.WriteString("Name: " + c.Arg(0) + ", Address " + c.Arg(1))
		return err
	})
	e.Define("today", func(c *Call) error { c.Return("Tuesday"); return nil })
}

// TestPages renders pages written in the style of device firmware and of
// GoAhead's documentation and compares them with testdata/pages/*.html
// (go test -run TestPages -update rewrites those; read the diff).
func TestPages(t *testing.T) {
	root := os.DirFS("testdata/pages")
	for _, c := range []struct {
		page, golden string
		mode         Mode
	}{
		{"lan.asp", "lan.html", Mode{}},
		{"lan.asp", "lan.escaped.html", Mode{EscapeHTML: true}},
		{"status.asp", "status.html", Mode{}},
		{"goahead.jst", "goahead.html", Mode{}},
	} {
		t.Run(c.golden, func(t *testing.T) {
			e, log := newEngine(t, root, Options{})
			firmware(e)
			w := httptest.NewRecorder()
			e.Serve(w, httptest.NewRequest("GET", "/"+c.page+"?user=admin", nil), c.page, c.mode)
			if w.Code != 200 {
				t.Fatalf("%d %q; log %s", w.Code, w.Body, log)
			}
			golden := filepath.Join("testdata/pages", c.golden)
			if *update {
				if err := os.WriteFile(golden, w.Body.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if w.Body.String() != string(want) {
				t.Fatalf("%s rendered\n%s\nwant (%s)\n%s", c.page, w.Body, golden, want)
			}
		})
	}
}

// BenchmarkLanPage renders the firmware-style LAN page from its cached
// parse, as a device does on every request after the first.
func BenchmarkLanPage(b *testing.B) {
	e, err := New(Options{Root: os.DirFS("testdata/pages")})
	if err != nil {
		b.Fatal(err)
	}
	firmware(e)
	r := httptest.NewRequest("GET", "/lan.asp", nil)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, r)
		if w.Code != 200 {
			b.Fatal(w.Code)
		}
	}
}
