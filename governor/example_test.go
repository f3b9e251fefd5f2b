package governor_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

// line is how a request of the line protocol shows in the Table.
type line string

func (l line) String() string { return string(l) }

// A raw TCP protocol under the Table: each request is one line, answered
// in upper case. The protocol layer tells each connection where it is
// (BeginRequest once a line is in, Idle once it is answered), so that a
// client between two lines is bounded by IdleTimeout, and one that never
// finishes its line by HeaderTimeout.
func Example() {
	t := governor.NewTable(governor.Options{HeaderTimeout: 200 * time.Millisecond, IdleTimeout: time.Second})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	ln := t.Listen(inner, governor.ListenerOptions{})
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serveLines(c.(*governor.Conn))
		}
	}()

	// A client that speaks the protocol.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for _, req := range []string{"hello", "governor"} {
		fmt.Fprintln(c, req)
		resp, _ := r.ReadString('\n')
		fmt.Print(resp)
	}

	// A client that never finishes its line: cut at HeaderTimeout.
	slow, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		panic(err)
	}
	defer slow.Close()
	io.WriteString(slow, "never end")
	slow.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = slow.Read(make([]byte, 1))
	fmt.Println("slow client:", err != nil)
	for i := 0; i < 100 && t.Stats().Closed[governor.CauseHeaderTimeout] == 0; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Println("closed for header-timeout:", t.Stats().Closed[governor.CauseHeaderTimeout])
	// Output:
	// HELLO
	// GOVERNOR
	// slow client: true
	// closed for header-timeout: 1
}

// serveLines is the protocol layer: it reads a line (the header phase),
// tells the Conn a request is under way, answers, and tells it the
// connection is idle.
func serveLines(c *governor.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		req, err := r.ReadString('\n')
		if err != nil {
			return // a rule expired (a *governor.TimeoutError), or the peer left
		}
		req = strings.TrimSpace(req)
		c.BeginRequest(governor.Limits{}, line(req), false)
		if _, err := fmt.Fprintln(c, strings.ToUpper(req)); err != nil {
			return
		}
		c.Idle()
	}
}
