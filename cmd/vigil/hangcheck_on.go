//go:build !nohangcheck

package main

// The hangcheck command, an attack tool, is in every build but one made
// with -tags nohangcheck (hangcheck_omit.go).
func init() { commands["hangcheck"] = hangcheck }
