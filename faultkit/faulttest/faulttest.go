// Package faulttest is what the tests of other packages need to use
// faultkit. It is a package of its own so that faultkit, which the vigil
// binary links for hangcheck, does not import testing.
package faulttest

import (
	"errors"
	"os"
	"testing"

	"github.com/vigilhttp/vigil/faultkit"
)

// Need skips t when this process cannot build network namespaces and
// nftables rules because it is not root. A missing tool fails t under CI
// (CI set), since .ci/run installs them, and skips it elsewhere.
func Need(t testing.TB) {
	t.Helper()
	switch err := faultkit.Available(); {
	case err == nil:
	case errors.Is(err, faultkit.ErrNotRoot):
		t.Skip("cable-pull tests need root (network namespaces, veth, nftables); CI runs them as root")
	case os.Getenv("CI") != "":
		t.Fatalf("%v: .ci/run must install it", err)
	default:
		t.Skip(err)
	}
}
