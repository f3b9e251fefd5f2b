package main

import (
	"os"

	"golang.org/x/sys/unix"
)

// noEcho turns off echo on the terminal f and returns the function that
// restores it; ok is false when f is not a terminal.
func noEcho(f *os.File) (restore func(), ok bool) {
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, false
	}
	var old *unix.Termios
	var serr error
	if err := rc.Control(func(fd uintptr) {
		if old, serr = unix.IoctlGetTermios(int(fd), unix.TCGETS); serr != nil {
			return
		}
		t := *old
		t.Lflag &^= unix.ECHO
		serr = unix.IoctlSetTermios(int(fd), unix.TCSETS, &t)
	}); err != nil || serr != nil {
		return nil, false
	}
	return func() {
		rc.Control(func(fd uintptr) { unix.IoctlSetTermios(int(fd), unix.TCSETS, old) })
	}, true
}
