//go:build nohangcheck

package main

import (
	"context"
	"errors"
	"io"
)

// With -tags nohangcheck the hangcheck files (each built only with
// !nohangcheck) are left out, and faultkit and its replay set with them
// (about 190 KB): a device need not carry an attack tool
// (deps_test.go checks its dependencies). "vigil hangcheck" then says why it
// fails.
func init() {
	commands["hangcheck"] = func(context.Context, []string, io.Writer, io.Writer) error {
		return errors.New("hangcheck: not built in (built with -tags nohangcheck)")
	}
}
