//go:build linux

package governor

import (
	"bufio"
	"net"
	"net/http"
	"os"
	"syscall"
	"testing"
	"time"
)

// TestOutOfDescriptors runs the process out of file descriptors while
// clients wait in the accept queue: each gets the Refusal (a 503) at once,
// instead of waiting until descriptors are free.
func TestOutOfDescriptors(t *testing.T) {
	tab := NewTable(Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refusal := "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
	gl := tab.Listen(ln, ListenerOptions{Refusal: []byte(refusal)})
	defer gl.Close()
	var clients []net.Conn
	for range 3 {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
		clients = append(clients, c)
	}
	// No descriptor left: the limit is what is open now.
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatal(err)
	}
	// The limit is on descriptor numbers: the lowest free one is refused.
	probe, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	low := lim
	low.Cur = uint64(probe.Fd())
	probe.Close()
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skip("cannot lower RLIMIT_NOFILE:", err)
	}
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := gl.Accept(); err == nil {
			accepted <- c
		}
		close(accepted)
	}()
	for i, c := range clients {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
			t.Fatalf("client %d, out of descriptors: %v, want the 503 at once", i, err)
		}
		if resp.StatusCode != 503 {
			t.Errorf("client %d: %d, want 503", i, resp.StatusCode)
		}
	}
	syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	// Descriptors back: the next client is accepted as usual.
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	select {
	case gc := <-accepted:
		if gc == nil {
			t.Fatal("Accept failed once descriptors were back")
		}
		gc.Close()
	case <-time.After(3 * time.Second):
		t.Fatal("Accept did not return once descriptors were back")
	}
	if n := tab.Stats().Refused; n != 3 {
		t.Errorf("refused %d, want 3", n)
	}
}
