// Command idleconns holds idle keep-alive connections open to an HTTP
// server, so bench/compare.sh can read what each one costs the server.
//
// It opens -n connections to --addr, spread over the source addresses
// 127.0.0.1, 127.0.0.2, … (--sources of them; by default one per 5,000
// connections, so ephemeral ports do not run short). On each it sends one
// keep-alive GET for --path and reads the whole response; then it prints
// "ready N" and holds every connection open, idle, until standard input
// closes or --hold passes. Every dial, write and read has a deadline
// (--timeout). It exits non-zero with the reason if a connection fails,
// including one the server closes while held.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "server address, host:port")
	n := flag.Int("n", 1000, "connections to open")
	path := flag.String("path", "/1k.bin", "path to GET once on each connection")
	sources := flag.Int("sources", 0, "source addresses 127.0.0.1..127.0.0.N to spread over; 0: one per 5,000 connections")
	timeout := flag.Duration("timeout", 10*time.Second, "deadline for each dial and for each request and response")
	hold := flag.Duration("hold", 10*time.Minute, "longest hold after ready (standard input closing ends it sooner)")
	parallel := flag.Int("parallel", 64, "connections being opened at once")
	flag.Parse()
	if *sources <= 0 {
		*sources = (*n + 4999) / 5000
	}
	if *sources > 254 {
		fail(fmt.Errorf("--sources %d: at most 254", *sources))
	}
	conns, err := open(*addr, *path, *n, *sources, *parallel, *timeout)
	if err != nil {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
		fail(err)
	}
	fmt.Printf("ready %d\n", len(conns))

	// A held connection must stay open: a read returning means the server
	// closed it (or sent bytes unasked), and the measurement is void.
	broken := make(chan error, 1)
	for i, c := range conns {
		go func() {
			var b [1]byte
			_, err := c.Read(b[:])
			if err == nil {
				err = errors.New("unexpected bytes")
			}
			select {
			case broken <- fmt.Errorf("connection %d (%s) ended while held: %w", i, c.LocalAddr(), err):
			default:
			}
		}()
	}
	stdin := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stdin)
	}()
	select {
	case err := <-broken:
		fail(err)
	case <-stdin:
	case <-time.After(*hold):
	}
	for _, c := range conns {
		c.Close()
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "idleconns:", err)
	os.Exit(1)
}

// open dials n connections, parallel at a time, and makes one request on
// each. On error it returns what it opened so far with the first error.
func open(addr, path string, n, sources, parallel int, timeout time.Duration) ([]net.Conn, error) {
	conns := make([]net.Conn, n)
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(parallel, n) {
		wg.Go(func() {
			for i := range next {
				c, err := openOne(addr, path, i, sources, timeout)
				if err != nil {
					cancel(fmt.Errorf("connection %d: %w", i, err))
					continue
				}
				conns[i] = c
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil {
		return conns, err
	}
	return conns, nil
}

// openOne dials from source address 127.0.0.(1 + i%sources), sends one
// keep-alive GET and reads the whole response.
func openOne(addr, path string, i, sources int, timeout time.Duration) (net.Conn, error) {
	d := net.Dialer{
		Timeout:   timeout,
		LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(1+i%sources))},
		KeepAlive: -1,
	}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: idleconns\r\n\r\n", path, addr); err != nil {
		c.Close()
		return nil, fmt.Errorf("write request: %w", err)
	}
	br := bufio.NewReaderSize(c, 4096)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("read response: %w", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	switch {
	case err != nil:
		err = fmt.Errorf("read body: %w", err)
	case resp.StatusCode != http.StatusOK:
		err = fmt.Errorf("status %s", resp.Status)
	case resp.Close:
		err = errors.New("server will close the connection (Connection: close)")
	case resp.ContentLength < 0:
		err = errors.New("response without Content-Length")
	case br.Buffered() > 0:
		err = fmt.Errorf("%d bytes after the response", br.Buffered())
	}
	if err != nil {
		c.Close()
		return nil, err
	}
	c.SetDeadline(time.Time{})
	return c, nil
}
