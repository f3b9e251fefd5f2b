// Command multipart measures what the multipart attacks of issue 14 cost a
// vigil server in memory: it serves an upload route in this process
// (route uri=/action/upgrade methods=POST handler=upload limit-body=64MiB),
// sends each attack over loopback, and prints the peak resident set size
// (VmRSS, sampled every 5 ms) while it ran, next to the RSS before it:
//
//   - empty-fields: 987,633 empty fields in one 63 MiB body;
//   - long-names: six fields with 9 MiB names;
//   - three-at-once: three empty-fields requests at once.
//
// The bodies are generated as they are sent, so the client side costs a
// few KiB. Run it on Linux: go run ./bench/multipart
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigilhttp/vigil"
)

const boundary = "VigilBenchBoundary"

func main() {
	timeout := flag.Duration("timeout", 2*time.Minute, "bound on each attack")
	flag.Parse()
	if err := run(*timeout); err != nil {
		fmt.Fprintln(os.Stderr, "multipart:", err)
		os.Exit(1)
	}
}

func run(timeout time.Duration) error {
	dir, err := os.MkdirTemp("", "vigil-multipart-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	route := filepath.Join(dir, "route.txt")
	rules := "route uri=/action/upgrade methods=POST handler=upload limit-body=64MiB\nroute uri=/\n"
	if err := os.WriteFile(route, []byte(rules), 0o644); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv, err := vigil.New(vigil.Config{Root: dir, Route: route, UploadDir: filepath.Join(dir, "up"),
		Listeners: []net.Listener{ln}, HandlerTimeout: timeout})
	if err != nil {
		return err
	}
	if err := srv.Action("upgrade", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := vigil.Uploaded(r)
		fmt.Fprintf(w, "%d fields\n", len(res.Values))
	})); err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return err
	}
	defer srv.Close()
	url := "http://" + ln.Addr().String() + "/action/upgrade"

	emptyFields := func() io.Reader {
		return gen(987_633, func(w *bufio.Writer, i int) { fmt.Fprintf(w, `name="f%d"`, i) })
	}
	chunk := strings.Repeat("n", 64<<10)
	longNames := func() io.Reader {
		return gen(6, func(w *bufio.Writer, i int) {
			w.WriteString(`name="`)
			for range 9 << 20 / len(chunk) {
				w.WriteString(chunk)
			}
			fmt.Fprintf(w, `%d"`, i)
		})
	}
	fmt.Printf("%-14s %10s %10s  %s\n", "attack", "rss before", "peak rss", "answers")
	for _, a := range []struct {
		name string
		n    int
		body func() io.Reader
	}{{"empty-fields", 1, emptyFields}, {"long-names", 1, longNames}, {"three-at-once", 3, emptyFields}} {
		runtime.GC()
		debug.FreeOSMemory()
		before := rss()
		var peak atomic.Int64
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for t := time.NewTicker(5 * time.Millisecond); ; {
				if v := rss(); v > peak.Load() {
					peak.Store(v)
				}
				select {
				case <-stop:
					t.Stop()
					return
				case <-t.C:
				}
			}
		}()
		answers := make([]string, a.n)
		var wg sync.WaitGroup
		for i := range a.n {
			wg.Go(func() { answers[i] = post(url, a.body(), timeout) })
		}
		wg.Wait()
		close(stop)
		<-sampled
		fmt.Printf("%-14s %7.1f MB %7.1f MB  %s\n", a.name, float64(before)/1e6, float64(peak.Load())/1e6, strings.Join(answers, ", "))
	}
	return nil
}

// gen streams a multipart body of n parts; part writes the
// Content-Disposition parameters of part i. Every field is empty.
func gen(n int, part func(w *bufio.Writer, i int)) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 64<<10)
		for i := range n {
			w.WriteString("--" + boundary + "\r\nContent-Disposition: form-data; ")
			part(w, i)
			w.WriteString("\r\n\r\n\r\n")
		}
		w.WriteString("--" + boundary + "--\r\n")
		pw.CloseWithError(w.Flush())
	}()
	return pr
}

// post sends body and returns the status, or what went wrong.
func post(url string, body io.Reader, timeout time.Duration) string {
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		return err.Error()
	}
	req.Header.Set("Content-Type", "multipart/form-data; boundary="+boundary)
	c := &http.Client{Timeout: timeout, Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "connection reset") {
			return "cut while sending" // the server answered and closed
		}
		return "error: " + err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 200))
	return strconv.Itoa(resp.StatusCode) + " " + string(bytes.TrimSpace(b))
}

// rss is this process's resident set size in bytes (VmRSS).
func rss() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}
