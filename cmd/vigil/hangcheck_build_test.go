package main

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNoHangcheckLinksNoFaultkit builds the device binary (-tags
// notmpl,nohangcheck) and checks that no symbol of faultkit is in it: a
// device does not carry the attack code. The governor's symbols must be
// there, so the check sees the module's symbols at all.
func TestNoHangcheckLinksNoFaultkit(t *testing.T) {
	if testing.Short() {
		t.Skip("links the device binary")
	}
	gotool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := exec.LookPath(gotool); err != nil {
		t.Skip("no go command to build with")
	}
	bin := filepath.Join(t.TempDir(), "vigil")
	if out, err := exec.Command(gotool, "build", "-tags", "notmpl,nohangcheck", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	out, err := exec.Command(gotool, "tool", "nm", bin).CombinedOutput()
	if err != nil {
		t.Fatalf("go tool nm: %v\n%s", err, out)
	}
	const module = "github.com/vigilhttp/vigil/"
	var faultkit, governor int
	for _, l := range strings.Split(string(out), "\n") {
		switch {
		case strings.Contains(l, module+"faultkit"):
			faultkit++
		case strings.Contains(l, module+"governor."):
			governor++
		}
	}
	if governor == 0 {
		t.Fatal("no governor symbol in the device binary: the check cannot see the module's symbols")
	}
	if faultkit > 0 {
		t.Errorf("the device binary has %d faultkit symbols, want none", faultkit)
	}
}
