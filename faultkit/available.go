package faultkit

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
)

// ErrNotRoot is reported by Available when the process is not root:
// namespaces, veth pairs and nftables rules need it.
var ErrNotRoot = errors.New("faultkit: network namespaces, veth and nftables need root")

// Tools are the commands the namespace faults run.
var Tools = []string{"ip", "nft", "ss"}

// Available reports whether this process can build namespaces and cut
// connections: nil, ErrNotRoot, or an error naming the missing tool.
func Available() error {
	if os.Geteuid() != 0 {
		return ErrNotRoot
	}
	for _, tool := range Tools {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("faultkit: %s is not installed (apt-get install nftables iproute2)", tool)
		}
	}
	return nil
}
