package httpd_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/vigilhttp/vigil/governor"
	"github.com/vigilhttp/vigil/httpd"
)

// An application's own net/http server — a mux with a page, an event
// stream and a firmware download — governed by one call: every wait on a
// peer is bounded by progress, a slowloris or a vanished client is cut,
// while the event stream and a slow download live as long as they move.
func ExampleGovern() {
	firmware := bytes.Repeat([]byte{0xAB}, 1<<20)
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "device home")
	})
	mux.HandleFunc("/events", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := range 3 {
			fmt.Fprintf(w, "data: tick %d\n\n", i)
			http.NewResponseController(w).Flush()
			time.Sleep(10 * time.Millisecond)
		}
	})
	mux.HandleFunc("/firmware.bin", func(w http.ResponseWriter, r *http.Request) {
		http.ServeContent(w, r, "firmware.bin", time.Time{}, bytes.NewReader(firmware))
	})
	srv := &http.Server{Handler: mux, ErrorLog: log.Default()}

	table := governor.NewTable(governor.Options{}) // every bound at its default
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	gs := httpd.Govern(srv, table)
	go gs.Serve(ln) // or gs.ServeTLS(ln, "cert.pem", "key.pem"): HTTP/2 too

	base := "http://" + ln.Addr().String()
	resp, _ := http.Get(base + "/")
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(page))

	req, _ := http.NewRequest("GET", base+"/events", nil)
	req.Header.Set("Accept", "text/event-stream") // as EventSource sends: no handler deadline
	resp, _ = http.DefaultClient.Do(req)
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			fmt.Println(ev)
		}
	}
	resp.Body.Close()

	resp, _ = http.Get(base + "/firmware.bin")
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	fmt.Println("firmware bytes:", n)

	srv.Shutdown(context.Background()) // or gs.Shutdown
	fmt.Println("connections accepted:", table.Stats().Accepted)
	// Output:
	// device home
	// tick 0
	// tick 1
	// tick 2
	// firmware bytes: 1048576
	// connections accepted: 1
}
