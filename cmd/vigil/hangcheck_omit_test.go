//go:build nohangcheck

package main

import (
	"context"
	"io"
	"strings"
	"testing"
)

func TestNoHangcheck(t *testing.T) {
	err := run(context.Background(), []string{"hangcheck", "http://127.0.0.1:1/"}, io.Discard, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "hangcheck: not built in (built with -tags nohangcheck)") {
		t.Fatalf("vigil hangcheck: %v, want the nohangcheck error", err)
	}
}
