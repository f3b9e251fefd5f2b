package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// listenSilent returns the address of a loopback listener whose connections
// are accepted and then never answered; they are closed when the test ends.
func listenSilent(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-conns:
				c.Close()
			default:
				return
			}
		}
	})
	return ln.Addr().String()
}

func TestExchange(t *testing.T) {
	t.Run("an answer and its body", func(t *testing.T) {
		srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Method", r.Method)
			w.Write([]byte("hello " + r.URL.Path))
		})}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go srv.Serve(ln)
		defer srv.Close()
		req, _ := http.NewRequest(http.MethodPost, "http://vigil/conns/1/kill", nil)
		resp, body, err := exchange(context.Background(), "tcp", ln.Addr().String(), req, 64)
		if err != nil || resp.StatusCode != 200 || string(body) != "hello /conns/1/kill" || resp.Header.Get("X-Method") != "POST" {
			t.Fatalf("exchange: %v, %+v, %q", err, resp, body)
		}
		req, _ = http.NewRequest(http.MethodGet, "http://vigil/long/path", nil)
		if _, _, err := exchange(context.Background(), "tcp", ln.Addr().String(), req, 4); err == nil ||
			!strings.Contains(err.Error(), "over 4 bytes") {
			t.Errorf("body over the limit: %v, want an error", err)
		}
	})
	t.Run("a server that never answers is cut at the deadline", func(t *testing.T) {
		addr := listenSilent(t)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://vigil/", nil)
		t0 := time.Now()
		_, _, err := exchange(ctx, "tcp", addr, req, 64)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(t0) > 2*time.Second {
			t.Errorf("exchange: %v after %v, want the deadline after 200ms", err, time.Since(t0))
		}
	})
	t.Run("cancelling stops it at once", func(t *testing.T) {
		addr := listenSilent(t)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://vigil/", nil)
		t0 := time.Now()
		_, _, err := exchange(ctx, "tcp", addr, req, 64)
		if !errors.Is(err, context.Canceled) || time.Since(t0) > 2*time.Second {
			t.Errorf("exchange: %v after %v, want context.Canceled after 100ms", err, time.Since(t0))
		}
	})
}
