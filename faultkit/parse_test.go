package faultkit

import (
	"bufio"
	"io"
	"net/netip"
	"strings"
	"testing"
)

func TestReadResponse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		status  int
		closing bool
		err     string // substring; "" means none
	}{
		{name: "reads a body framed by content-length", in: "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", status: 200},
		{name: "reads a chunked body and its trailer", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2;x=y\r\nok\r\nA\r\n0123456789\r\n0\r\nT: 1\r\n\r\n", status: 200},
		{name: "leaves a close-delimited body to the caller", in: "HTTP/1.1 200 OK\r\n\r\n", status: 200, closing: true},
		{name: "notes connection close", in: "HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n", status: 408, closing: true},
		{name: "treats HTTP/1.0 as closing unless keep-alive", in: "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", status: 200, closing: true},
		{name: "keeps HTTP/1.0 with keep-alive open", in: "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n", status: 200},
		{name: "reads no body for 204 and 304", in: "HTTP/1.1 204 No Content\r\n\r\n", status: 204},
		{name: "skips interim responses", in: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n", status: 201},
		{name: "accepts bare LF line ends", in: "HTTP/1.1 200 OK\nContent-Length: 1\n\nx", status: 200},
		{name: "rejects a malformed status line", in: "SSH-2.0-OpenSSH\r\n\r\n", err: "malformed status line"},
		{name: "rejects conflicting content-lengths", in: "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", err: "content-length"},
		{name: "rejects a header line without colon", in: "HTTP/1.1 200 OK\r\nbogus\r\n\r\n", err: "malformed header"},
		{name: "rejects a head beyond 64 KiB", in: "HTTP/1.1 200 OK\r\nX: " + strings.Repeat("a", maxHead) + "\r\n\r\n", err: "too long"},
		{name: "rejects too many header lines", in: "HTTP/1.1 200 OK\r\n" + strings.Repeat("X: y\r\n", maxHeaderLines+1) + "\r\n", err: "header lines"},
		{name: "rejects a malformed chunk size", in: "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", err: "chunk size"},
		{name: "reports a body cut short as unexpected EOF", in: "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", status: 200, err: "EOF"},
		{name: "reports a head cut short as unexpected EOF", in: "HTTP/1.1 200 OK\r\nX: y", status: 200, err: "unexpected EOF"},
		{name: "reports nothing at all as EOF", in: "", err: "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			const next = "NEXT"
			br := bufio.NewReader(strings.NewReader(tt.in + next))
			if tt.err != "" {
				br = bufio.NewReader(strings.NewReader(tt.in))
			}
			status, closing, err := readResponse(br)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("readResponse error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil || status != tt.status || closing != tt.closing {
				t.Fatalf("readResponse = %d, %v, %v; want %d, %v, nil", status, closing, err, tt.status, tt.closing)
			}
			if rest, _ := io.ReadAll(br); !closing && string(rest) != next {
				t.Errorf("left %q unread, want %q", rest, next)
			}
		})
	}
}

func FuzzReadResponse(f *testing.F) {
	f.Add("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	f.Add("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n")
	f.Add("HTTP/1.0 100 x\r\n\r\nHTTP/1.1 304 y\r\nConnection: keep-alive, close\r\n\r\n")
	f.Fuzz(func(t *testing.T, in string) {
		status, _, err := readResponse(bufio.NewReader(strings.NewReader(in)))
		if err == nil && (status < 100 || status > 999) {
			t.Errorf("readResponse(%q) = status %d without error", in, status)
		}
	})
}

func TestParseSockets(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	out := strings.Join([]string{
		"LISTEN     0      4096   198.18.7.1:8080      0.0.0.0:*",
		"ESTAB      0      1000   198.18.7.1:8080      198.18.7.2:40000 timer:(on,208ms,3)",
		"FIN-WAIT-1 0      501    [::ffff:198.18.7.1]:8080 [::ffff:198.18.7.2]:40002 timer:(on,1.2sec,4)",
		"LISTEN     0      4096   127.0.0.53%lo:53     0.0.0.0:*",
		"LISTEN     0      128    [::]:22              [::]:*",
		"LISTEN     0      128    *:80                 *:*",
		"TIME-WAIT  0      0      [fe80::1%eth0]:443   [fe80::2]:5000 timer:(timewait,59sec,0)",
		"",
	}, "\n")
	want := []Socket{
		{State: "LISTEN", Local: ap("198.18.7.1:8080"), Remote: ap("0.0.0.0:0"), SendQ: 4096},
		{State: "ESTAB", Local: ap("198.18.7.1:8080"), Remote: ap("198.18.7.2:40000"), SendQ: 1000, Timer: "on,208ms,3"},
		{State: "FIN-WAIT-1", Local: ap("198.18.7.1:8080"), Remote: ap("198.18.7.2:40002"), SendQ: 501, Timer: "on,1.2sec,4"},
		{State: "LISTEN", Local: ap("127.0.0.53:53"), Remote: ap("0.0.0.0:0"), SendQ: 4096},
		{State: "LISTEN", Local: ap("[::]:22"), Remote: ap("[::]:0"), SendQ: 128},
		{State: "LISTEN", Local: netip.AddrPortFrom(netip.Addr{}, 80), SendQ: 128},
		{State: "TIME-WAIT", Local: ap("[fe80::1]:443"), Remote: ap("[fe80::2]:5000"), Timer: "timewait,59sec,0"},
	}
	got, err := parseSockets(out)
	if err != nil {
		t.Fatalf("parseSockets: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("parseSockets returned %d sockets, want %d: %v", len(got), len(want), got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("socket %d = %v, want %v", i, got[i], want[i])
		}
	}
	for _, bad := range []string{"ESTAB 0 0 1.2.3.4:80", "ESTAB x 0 1.2.3.4:80 1.2.3.4:81", "ESTAB 0 0 1.2.3.4 1.2.3.4:81", "ESTAB 0 0 [::1:80 1.2.3.4:81", "ESTAB 0 0 1.2.3.4:99999 1.2.3.4:81"} {
		if _, err := parseSockets(bad); err == nil {
			t.Errorf("parseSockets(%q) succeeded, want an error", bad)
		}
	}
}

func FuzzParseSockets(f *testing.F) {
	f.Add("ESTAB 0 1000 198.18.7.1:8080 198.18.7.2:40000 timer:(on,208ms,3)")
	f.Add("LISTEN 0 128 [::ffff:1.2.3.4%x]:22 *:*")
	f.Fuzz(func(t *testing.T, in string) {
		socks, err := parseSockets(in)
		if err == nil && len(socks) > strings.Count(in, "\n")+1 {
			t.Errorf("parseSockets(%q) returned %d sockets from fewer lines", in, len(socks))
		}
	})
}

func TestWaitGoneMatches(t *testing.T) {
	t.Parallel()
	ap := netip.MustParseAddrPort
	tests := []struct {
		name      string
		got, want netip.AddrPort
		match     bool
	}{
		{"matches the same address and port", ap("198.18.0.1:80"), ap("198.18.0.1:80"), true},
		{"matches an IPv4-mapped address", ap("198.18.0.1:80"), ap("[::ffff:198.18.0.1]:80"), true},
		{"matches any address when the wanted one is unspecified", ap("198.18.0.1:80"), ap("0.0.0.0:80"), true},
		{"matches any address when the wanted one is invalid", ap("198.18.0.1:80"), netip.AddrPortFrom(netip.Addr{}, 80), true},
		{"rejects another port", ap("198.18.0.1:80"), ap("198.18.0.1:81"), false},
		{"rejects another address", ap("198.18.0.1:80"), ap("198.18.0.2:80"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := matches(tt.got, tt.want); got != tt.match {
				t.Errorf("matches(%v, %v) = %v, want %v", tt.got, tt.want, got, tt.match)
			}
		})
	}
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{
		"HTTP/1.1 408 Request Timeout\r\n": 408,
		"HTTP/1.0 200":                     200,
		"HTTP/1.1 20":                      0,
		"SSH-2.0":                          0,
		"":                                 0,
	} {
		if got := statusOf([]byte(in)); got != want {
			t.Errorf("statusOf(%q) = %d, want %d", in, got, want)
		}
	}
}
