// Command tmpl is the size floor of a Go web server with TLS that renders
// html/template pages: bench/sizefloor/nethttp plus one template, parsed
// and executed. text/template's method lookups by name make the linker
// keep every exported method of every type that reaches an interface. It
// is built by bench/sizes.sh --floor, never run.
package main

import (
	"html/template"
	"log"
	"net/http"
	"os"
)

func main() {
	page := template.Must(template.ParseFiles(os.Args[3]))
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		page.Execute(w, r)
	})
	log.Fatal(http.ListenAndServeTLS(":8443", os.Args[1], os.Args[2], nil))
}
