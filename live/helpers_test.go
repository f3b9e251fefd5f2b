package live

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/httpd"
	"github.com/vigilhttp/vigil/route"
)

// Short bounds keep the suite fast.
const (
	testStall   = 2 * time.Second
	testPing    = time.Second
	testPong    = time.Second
	testHandler = 500 * time.Millisecond // shorter than every socket here lives
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) { s.mu.Lock(); defer s.mu.Unlock(); return s.b.Write(p) }
func (s *syncBuf) String() string              { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// rig is an httpd server on a governed listener serving a WebSocket
// endpoint at /ws and an event stream at /ev, on routes whose policy is
// the one package vigil gives handler=websocket and handler=events rules
// (no handler timeout), while every other route has a short one.
type rig struct {
	tab  *governor.Table
	srv  *httpd.Server
	hub  *Hub
	ep   *Endpoint
	addr string
	tls  bool
	logs *syncBuf
}

type rigOptions struct {
	ws     Options
	fn     Handler
	events StreamOptions
	sfn    StreamHandler
	tls    bool
}

func newRig(t *testing.T, ln net.Listener, ro rigOptions) *rig {
	t.Helper()
	logs := &syncBuf{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tab := governor.NewTable(governor.Options{StallTimeout: testStall, HeaderTimeout: 2 * time.Second,
		IdleTimeout: 5 * time.Second, MaxConnsPerIP: -1, Logger: log})
	r := &rig{tab: tab, hub: &Hub{}, addr: ln.Addr().String(), tls: ro.tls, logs: logs}
	ro.ws.Hub, ro.ws.Logger = r.hub, log
	if ro.fn == nil {
		ro.fn = echo
	}
	r.ep = WebSocket(ro.fn, ro.ws)
	ro.events.Hub, ro.events.Logger = r.hub, log
	ro.events.Conn = func(r *http.Request) *governor.Conn { return httpd.ConnFrom(r.Context()) }
	mux := http.NewServeMux()
	mux.Handle("/ws", r.ep)
	if ro.sfn != nil {
		mux.Handle("/ev", Events(ro.sfn, ro.events))
	}
	long := route.Policy{HandlerTimeout: -1, MinRate: -1, TransferTimeout: -1}
	// Every socket is a handler running: no handler cap here (TestIdleMemory opens 1,000).
	r.srv = httpd.New(httpd.Options{Handler: mux, Governor: tab, Logger: log, MaxHandlers: -1, MaxHandlersPerIP: -1,
		Default: route.Policy{HandlerTimeout: testHandler},
		Routes: httpd.PoliciesFunc(func(req *http.Request) (route.Policy, string, bool) {
			switch req.URL.Path {
			case "/ws", "/ev":
				return long, req.URL.Path, true
			}
			return route.Policy{}, "", false
		})})
	var err error
	if ro.tls {
		err = r.srv.StartTLS(ln, &tls.Config{Certificates: []tls.Certificate{testCert(t)}, NextProtos: []string{"http/1.1"}})
	} else {
		err = r.srv.Start(ln)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		r.srv.Close()
		if t.Failed() {
			t.Logf("server log:\n%s", logs.String())
		}
	})
	return r
}

func loopback(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return ln
}

// echo sends back every message.
func echo(c *Conn) {
	for {
		typ, p, err := c.Read(c.Context())
		if err != nil {
			return
		}
		if c.Write(c.Context(), typ, p) != nil {
			return
		}
	}
}

func testCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour),
		NotAfter: time.Now().Add(time.Hour), DNSNames: []string{"dev"}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// rawWS is a WebSocket client of a few lines, so that tests can do what
// no library does: never answer pings, declare a 1 GiB message, send an
// unmasked frame.
type rawWS struct {
	nc net.Conn // the TCP (or TLS) connection
	br *bufio.Reader
	mu sync.Mutex // guards writes
}

// wsUpgrade sends the upgrade request for path on nc (wrapped in TLS when
// secure) and returns the client and the response.
func wsUpgrade(t *testing.T, nc net.Conn, secure bool, path string, hdr string) (*rawWS, *http.Response) {
	t.Helper()
	if secure {
		nc = tls.Client(nc, &tls.Config{InsecureSkipVerify: true, ServerName: "dev", NextProtos: []string{"http/1.1"}})
	}
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	fmt.Fprintf(nc, "GET %s HTTP/1.1\r\nHost: dev\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n%s\r\n", path, hdr)
	br := bufio.NewReader(nc)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	nc.SetDeadline(time.Time{})
	return &rawWS{nc: nc, br: br}, resp
}

// send writes one frame, masked unless unmasked.
func (c *rawWS) send(op byte, p []byte, unmasked bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sendHeader(op, int64(len(p)), p, unmasked)
}

func (c *rawWS) sendHeader(op byte, n int64, p []byte, unmasked bool) error {
	h := []byte{0x80 | op}
	var mb byte = 0x80
	if unmasked {
		mb = 0
	}
	switch {
	case n < 126:
		h = append(h, mb|byte(n))
	case n < 1<<16:
		h = append(h, mb|126, byte(n>>8), byte(n))
	default:
		h = append(h, mb|127)
		h = binary.BigEndian.AppendUint64(h, uint64(n))
	}
	body := append([]byte(nil), p...)
	if !unmasked {
		key := []byte{1, 2, 3, 4}
		h = append(h, key...)
		for i := range body {
			body[i] ^= key[i%4]
		}
	}
	_, err := c.nc.Write(append(h, body...))
	return err
}

// frame reads one frame from the server (unmasked).
func (c *rawWS) frame() (op byte, p []byte, err error) {
	var h [2]byte
	if _, err = io.ReadFull(c.br, h[:]); err != nil {
		return 0, nil, err
	}
	n := int64(h[1] & 0x7f)
	switch n {
	case 126:
		var b [2]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = int64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		if _, err = io.ReadFull(c.br, b[:]); err != nil {
			return 0, nil, err
		}
		n = int64(binary.BigEndian.Uint64(b[:]))
	}
	p = make([]byte, n)
	_, err = io.ReadFull(c.br, p)
	return h[0] & 0x0f, p, err
}

// closeCode returns the code of a close frame's payload.
func closeCode(p []byte) int {
	if len(p) < 2 {
		return 0
	}
	return int(binary.BigEndian.Uint16(p))
}

// until reads frames until a close frame or an error, answering pings
// when answer is set, and returns the close code (0 for none) and the
// time it came.
func (c *rawWS) until(answer bool, limit time.Duration) (code int, at time.Time, err error) {
	c.nc.SetReadDeadline(time.Now().Add(limit))
	for {
		op, p, err := c.frame()
		if err != nil {
			return 0, time.Now(), err
		}
		switch op {
		case opPing:
			if answer {
				c.send(opPong, p, false)
			}
		case opClose:
			return closeCode(p), time.Now(), nil
		}
	}
}

// waitEOF reads until the connection ends and returns when and how.
func waitEOF(nc net.Conn, br *bufio.Reader, limit time.Duration) (time.Time, error) {
	nc.SetReadDeadline(time.Now().Add(limit))
	_, err := io.Copy(io.Discard, br)
	return time.Now(), err
}

// row returns the table row of the connection whose remote is local, or nil.
func (r *rig) row(local string) *governor.ConnInfo {
	for _, ci := range r.tab.Snapshot() {
		if ci.Remote == local {
			return &ci
		}
	}
	return nil
}

func dialRaw(t *testing.T, addr string) net.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	return nc
}

// modes runs fn over HTTP/1.1 and HTTP/1.1+TLS.
func modes(t *testing.T, fn func(t *testing.T, secure bool)) {
	for _, m := range []struct {
		name   string
		secure bool
	}{{"http1", false}, {"tls", true}} {
		t.Run(m.name, func(t *testing.T) { fn(t, m.secure) })
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
