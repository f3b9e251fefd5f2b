// Command plainfs is the baseline for bench/wrk.sh: Go's net/http file
// server with a zero-value http.Server, serving a directory.
package main

import (
	"flag"
	"log"
	"net/http"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:18082", "address to listen on")
	root := flag.String("root", ".", "directory to serve")
	flag.Parse()
	log.Fatal(http.ListenAndServe(*listen, http.FileServer(http.Dir(*root))))
}
