// Command plainfs is the baseline for the benchmarks under bench/: Go's
// net/http file server with a zero-value http.Server, serving a directory,
// plus a tiny dynamic response at /action/tiny. With --governed, the same
// server runs on a governor listener and tells it when a connection is
// idle or active: the governor's own cost, without vigil's HTTP layer and
// file handler. --pprof serves net/http/pprof on a second, separate
// listener so a benchmark can count goroutines without touching the server
// under test.
package main

import (
	"flag"
	"log"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/vigilhttp/vigil/governor"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18082", "address to listen on")
	root := flag.String("root", ".", "directory to serve")
	governed := flag.Bool("governed", false, "serve on a governor listener")
	pprofAddr := flag.String("pprof", "", "serve net/http/pprof on this separate address")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *governed {
		// The limits compare.sh gives vigil: no connection caps, idle
		// connections held for an hour.
		ln = governor.NewTable(governor.Options{
			MaxConns:      -1,
			MaxConnsPerIP: -1,
			IdleTimeout:   time.Hour,
		}).Listen(ln, governor.ListenerOptions{})
	}
	if *pprofAddr != "" {
		dbg := http.NewServeMux()
		dbg.HandleFunc("/debug/pprof/", pprof.Index)
		go func() { log.Print(http.ListenAndServe(*pprofAddr, dbg)) }()
	}
	mux := http.NewServeMux()
	mux.Handle("/", http.FileServer(http.Dir(*root)))
	mux.HandleFunc("/action/tiny", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux}
	if *governed {
		// Tell the governor when a connection waits for its next request,
		// as vigil's httpd does: without it every wait is a header wait,
		// cut after the header timeout.
		srv.ConnState = func(c net.Conn, st http.ConnState) {
			gc, ok := c.(*governor.Conn)
			if !ok {
				return
			}
			switch st {
			case http.StateActive:
				gc.Active()
			case http.StateIdle:
				gc.Idle()
			case http.StateHijacked:
				gc.Hijacked()
			}
		}
	}
	log.Fatal(srv.Serve(ln))
}
