package jst

import (
	"strconv"
	"strings"
)

// Error is a page's syntax or run-time error: an undefined function or
// variable, an operator on values it does not take, a bound function's
// error, a limit reached. Error() reads "file:line: message".
type Error struct {
	// File is the page's path in Options.Root.
	File string
	// Line is the 1-based line of the page where the error is.
	Line int
	// Msg says what failed.
	Msg string
	// Err is the error a bound function returned, or a limit's sentinel
	// (ErrOutputTooLarge, ErrSteps, …); nil for a syntax error.
	Err error
}

func (e *Error) Error() string { return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg }

// Unwrap returns e.Err.
func (e *Error) Unwrap() error { return e.Err }

// errorAt makes the Error for byte offset off of the page.
func (p *page) errorAt(off int, msg string) *Error {
	if off > len(p.src) {
		off = len(p.src)
	}
	return &Error{File: p.name, Line: 1 + strings.Count(p.src[:off], "\n"), Msg: msg}
}

// maxQuoted is the most bytes of a value an error message shows.
const maxQuoted = 40

// quote quotes s for an error message, shortened to maxQuoted bytes.
func quote(s string) string {
	if len(s) > maxQuoted {
		return strconv.Quote(s[:maxQuoted]) + "…"
	}
	return strconv.Quote(s)
}

func quoteRune(r rune) string { return strconv.QuoteRune(r) }
