//go:build !linux

package main

import "os"

// noEcho reports that echo cannot be turned off here: the password is read
// as a plain line.
func noEcho(*os.File) (func(), bool) { return nil, false }
