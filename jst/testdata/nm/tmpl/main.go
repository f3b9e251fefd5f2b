// Command tmpl is the control for the jst package's symbol test: the same
// page with text/template, which keeps reflect's method lookup.
package main

import (
	"os"
	"text/template"
)

func main() {
	t := template.Must(template.New("p").Parse(`{{.}}`))
	t.Execute(os.Stdout, "x")
}
