package cgi

import (
	"bufio"
	"errors"
	"net/http"
	"strings"
	"testing"
)

func TestReadHeader(t *testing.T) {
	tests := []struct {
		name, in string
		status   int
		header   map[string]string
		err      bool
	}{
		{name: "plain content type is 200", in: "Content-Type: text/html\n\n", status: 200, header: map[string]string{"Content-Type": "text/html"}},
		{name: "CRLF line ends work", in: "Content-Type: text/html\r\nX-A: b\r\n\r\n", status: 200, header: map[string]string{"X-A": "b"}},
		{name: "Status sets the code", in: "Status: 403 Forbidden\nContent-Type: text/plain\n\n", status: 403},
		{name: "local Location without Status is 302", in: "Location: /x\n\n", status: 302, header: map[string]string{"Location": "/x", "Content-Type": ""}},
		{name: "Location with Status keeps Status", in: "Status: 303\nLocation: http://e/\n\n", status: 303},
		{name: "missing Content-Type gets text/plain", in: "X-A: b\n\n", status: 200, header: map[string]string{"Content-Type": "text/plain; charset=utf-8"}},
		{name: "hop-by-hop fields are dropped", in: "Transfer-Encoding: chunked\nConnection: close\n\n", status: 200, header: map[string]string{"Transfer-Encoding": "", "Connection": ""}},
		{name: "a line without colon fails", in: "garbage\n\n", err: true},
		{name: "a bad header name fails", in: "X A: b\n\n", err: true},
		{name: "a non-numeric status fails", in: "Status: abc\n\n", err: true},
		{name: "a 1xx status fails", in: "Status: 101\n\n", err: true},
		{name: "EOF before the empty line fails", in: "Content-Type: text/plain\n", err: true},
		{name: "empty output fails", in: "", err: true},
		{name: "a control character in a value fails", in: "X-A: a\rb\n\n", err: true},
		{name: "an oversized block fails", in: "X-A: " + strings.Repeat("a", 200) + "\n\n", err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := readHeader(bufio.NewReaderSize(strings.NewReader(tt.in), 16), 128)
			if tt.err {
				if err == nil {
					t.Fatalf("no error; got %+v", h)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.status != tt.status {
				t.Errorf("status %d, want %d", h.status, tt.status)
			}
			for k, v := range tt.header {
				if got := h.header.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{"Content-Type: text/html\n\nbody", "Status: 404 x\r\nLocation: /a\r\n\r\n", "a\n", "X: " + strings.Repeat("y", 300) + "\n\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		h, err := readHeader(bufio.NewReaderSize(strings.NewReader(in), 16), 256)
		if err != nil {
			return
		}
		if h.status < 200 || h.status > 599 {
			t.Fatalf("status %d", h.status)
		}
		if n := strings.Index(in, "\n\n"); n > 256 && !strings.Contains(in[:n], "\r") {
			t.Fatalf("accepted a %d-byte block with limit 256", n)
		}
		for k, vs := range h.header {
			if hopByHop[http.CanonicalHeaderKey(k)] {
				t.Fatalf("hop-by-hop %s passed", k)
			}
			for _, v := range vs {
				if strings.ContainsAny(v, "\r\n") {
					t.Fatalf("value %q has a line end", v)
				}
			}
		}
	})
}

func TestReadHeaderTooLarge(t *testing.T) {
	_, err := readHeader(bufio.NewReaderSize(strings.NewReader(strings.Repeat("X-A: b\n", 100)+"\n"), 16), 128)
	if !errors.Is(err, errHeaderTooLarge) {
		t.Fatalf("err %v, want errHeaderTooLarge", err)
	}
}
