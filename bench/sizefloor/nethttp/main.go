// Command nethttp is the size floor of any Go web server with TLS: net/http
// serving one handler over ListenAndServeTLS, nothing else. It is built by
// bench/sizes.sh --floor, never run.
package main

import (
	"log"
	"net/http"
	"os"
)

func main() {
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("ok"))
	})
	log.Fatal(http.ListenAndServeTLS(":8443", os.Args[1], os.Args[2], nil))
}
