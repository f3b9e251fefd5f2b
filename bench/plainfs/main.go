// Command plainfs is the baseline for bench/wrk.sh: Go's net/http file
// server with a zero-value http.Server, serving a directory; with
// --governed, the same server on a governor listener (the governor's own
// cost, without vigil's HTTP layer and file handler).
package main

import (
	"flag"
	"log"
	"net"
	"net/http"

	"github.com/vigilhttp/vigil/governor"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18082", "address to listen on")
	root := flag.String("root", ".", "directory to serve")
	governed := flag.Bool("governed", false, "serve on a governor listener")
	flag.Parse()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	if *governed {
		ln = governor.NewTable(governor.Options{MaxConnsPerIP: -1}).Listen(ln, governor.ListenerOptions{})
	}
	log.Fatal(http.Serve(ln, http.FileServer(http.Dir(*root))))
}
