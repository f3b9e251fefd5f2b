//go:build unix

package static

import "syscall"

const openNonblock = syscall.O_NONBLOCK
