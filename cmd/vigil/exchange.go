package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// exchangeTimeout bounds an exchange whose context has no deadline.
const exchangeTimeout = 5 * time.Second

// exchange sends req on a new connection to network/address and returns the
// response and up to limit bytes of its body; more is an error. The whole
// exchange is bounded by ctx's deadline, or exchangeTimeout without one,
// and cancelling ctx stops it at once.
//
// It stands in for http.Client: the commands make one request at a time to
// a server they know, and the Transport's pool, proxy support, HTTP/2
// client and IDNA tables would add about 0.5 MiB to every device's binary.
func exchange(ctx context.Context, network, address string, req *http.Request, limit int64) (*http.Response, []byte, error) {
	start := time.Now()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = start.Add(exchangeTimeout)
	}
	d := net.Dialer{Deadline: deadline}
	c, err := d.DialContext(ctx, network, address)
	if err != nil {
		return nil, nil, err
	}
	defer c.Close()
	if err := c.SetDeadline(deadline); err != nil {
		return nil, nil, err
	}
	stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	wrap := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, os.ErrDeadlineExceeded) { // ours: ctx's deadline, or the default
			return fmt.Errorf("no answer within %v: %w", deadline.Sub(start).Round(time.Millisecond), context.DeadlineExceeded)
		}
		return err
	}
	req.Close = true
	if err := writeRequest(c, req); err != nil {
		return nil, nil, wrap(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		return nil, nil, wrap(err)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	resp.Body.Close()
	if err != nil {
		return nil, nil, wrap(err)
	}
	if int64(len(body)) > limit {
		return nil, nil, fmt.Errorf("response body over %d bytes", limit)
	}
	return resp, body, nil
}

// writeRequest writes req's request line and header, with Connection:
// close, to w. The commands' requests have no body. Written out rather
// than req.Write, which links the IDNA tables (about 150 KB) into every
// device's binary for host names these requests never have.
func writeRequest(w io.Writer, req *http.Request) error {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", req.Method, req.URL.RequestURI(), host)
	if err := req.Header.Write(bw); err != nil {
		return err
	}
	bw.WriteString("\r\n")
	return bw.Flush()
}
