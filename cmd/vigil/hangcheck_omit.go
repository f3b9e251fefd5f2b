//go:build nohangcheck

package main

import (
	"context"
	"errors"
	"io"
)

// With -tags nohangcheck nothing refers to hangcheck, so the linker leaves
// it out, and faultkit and the replay set with it (about 190 KB): a device
// need not carry an attack tool. "vigil hangcheck" then says why it fails.
func init() {
	commands["hangcheck"] = func(context.Context, []string, io.Writer, io.Writer) error {
		return errors.New("hangcheck: not built in (built with -tags nohangcheck)")
	}
}
