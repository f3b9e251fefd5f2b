// Package jst renders GoAhead pages unchanged: .jst pages (GoAhead 3 and
// later) and .asp pages (GoAhead 2.x), text with <% … %> blocks in the
// small JavaScript subset that GoAhead's jst.c and js.c define, calling Go
// functions bound by name in place of the C functions registered with
// websDefineJst or websAspDefine.
//
// # Pages
//
// Text outside blocks is sent as it is. A block starts at "<%", may begin
// with "language=javascript" (any case), and ends at the first "%>", even
// one inside a string literal, as in jst.c; a block without "%>" fails the
// page. A backslash followed by newlines is blanked with them, joining the
// lines. A block holding only white space is skipped. Every block of a page
// shares the page's variables, which start with the request's query and
// form fields (Options.NoRequestVars leaves them out) and null.
//
// # The language
//
// Statements, separated by ";" or a newline:
//
//	f(a, b);                 call a bound function or write, writeEscaped, escape
//	x = expr;                assignment (also an expression: its value)
//	var x, y = expr;         declaration; without a value the variable reads as ""
//	x++; x--;                increment (its value is the new value)
//	if (c) stmt else stmt    else optional; else if chains
//	for (init; c; post) stmt init may be "var i = 0"; any part may be empty
//	{ stmt … }               a block
//	return expr;             ends the <% %> block (not the page)
//
// Expressions: string literals in double or single quotes with \n \t \r \b \f \' \" \\
// \xHH \uHHHH and octal escapes, decimal numbers, variables, calls,
// parentheses, the unary ! and -, the binary + - * / % << >> < <= > >= ==
// != and the logical && ||; comments // and /* */.
//
// Every value is a string, with js.c's rules, which this package keeps
// because pages written for GoAhead depend on them:
//
//   - A value made only of decimal digits is a number, the empty string
//     included (it is 0); anything else is a string: "1" + "2" is 3,
//     "a" + 1 is "a1", "" + "" is 0, and -5, once computed, is a string
//     ("-5" + 1 is "-51"). Numbers are 32-bit (C int): a literal beyond
//     2147483647 reads as 2147483647 and arithmetic wraps; / and % by zero
//     give 0.
//   - Between two numbers every operator is integer arithmetic or a
//     comparison (1 or 0); between strings + concatenates, comparisons
//     compare bytes ("10" < "9" is 0, "a" < "b" is 1), and - * / % << >>
//     are an error, as are ! and unary - of a string.
//   - The binary operators have no precedence among themselves: js.c
//     evaluates them left to right, so 1 + 2 * 3 is 9 (write 1 + (2 * 3)).
//     && and || bind loosest and group from the right; both sides are
//     always evaluated (no short circuit); their result is 1 when both
//     values start with digits and the integers those digits make satisfy
//     the operator, else 0. The unary ! and - bind tightest.
//   - if takes its branch when the condition's value starts with "1"; for
//     runs while it does not start with "0" (js.c's two tests).
//   - An operator must be on the line of its left operand: a newline
//     after an operand ends the expression, as in js.c.
//
// write(a, b, …) writes its arguments separated by spaces (jst.c's
// websJstWrite). writeEscaped(…) writes them HTML-escaped, and escape(s)
// returns s HTML-escaped (& < > " ' become entities; this escape is not
// JavaScript's URL escape). A name bound with Engine.Define hides a
// built-in of the same name.
//
// # Escaping
//
// By default nothing is escaped, as in GoAhead. With Mode.EscapeHTML (the
// route key escape=html) every value that comes from Go or the request is
// HTML-escaped when written: whatever a bound function writes through its
// Call, and, when write() writes it, a bound function's result or a
// request variable, also as the part of a string built with +. The page's
// own literals stay raw, so write("<option selected>") and
// write("<td>" + f() + "</td>") keep their markup while f's value is
// escaped; Call.WriteRaw writes markup a function builds itself.
//
// # Errors and limits
//
// A syntax error, an undefined function or variable, an operator on values
// it does not take, a bound function's error or a limit reached fails the
// render with an *Error reading "file:line: message": the page answers 500
// with a generic body and the message goes to the log. Mode.InlineErrors
// answers as GoAhead did instead: the output so far, then
// "<h2><b>Javascript Error: …</b></h2>" and the block's source (both
// HTML-escaped here), and nothing after; a limit is still a 500. A block
// runs the statements before a syntax error, as js.c does, before it
// fails.
//
// A render's output goes to a buffer bounded by Limits.MaxOutput and is
// sent in one Write only when complete, so an error can still be a 500
// and a slow client holds only its own connection. Limits.MaxSteps bounds
// the work of a render (a for loop that does not end, a string that
// doubles), Limits.MaxValue every string, Limits.MaxDepth the nesting of
// a block, Limits.MaxPage the page file; the request's context ends a
// render too.
//
// # Caching
//
// A page is parsed on its first request and kept while its file's
// modification time and size stay the same; Engine.Reset drops every
// parse (SIGHUP).
//
// # Left out
//
// The GoAhead constructs this package leaves out or treats differently,
// and why, are listed in the README ("GoAhead pages (JST/ASP)").
//
// # Imports
//
// Package jst imports only the standard library, and neither
// text/template nor html/template nor anything that looks methods up at
// run time (reflect's Method and MethodByName), so the linker can drop
// unused methods in a device build; a test holds this.
package jst
