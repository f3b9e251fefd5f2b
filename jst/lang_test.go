package jst

import (
	"errors"
	"strings"
	"testing"
)

// langCases are pages and what GoAhead's js.c makes of them.
var langCases = []struct {
	name, src, want string
}{
	// Pages and blocks.
	{"text around blocks is sent as it is", `x<% write("y"); %>z`, "xyz"},
	{"an empty block is skipped", `a<% %>b<%%>c<%` + "\n\t" + `%>d`, "abcd"},
	{"language=javascript is skipped", `<% language=javascript write("j"); %>`, "j"},
	{"language=javascript in any case, spaces before =", `<%LANGUAGE =JavaScript write("j"); %>`, "j"},
	{"a name starting with language is a name", `<% languageX = 1; write(languageX); %>`, "1"},
	{"backslash-newline joins lines", "<% write(\"a\" + \\\n \"b\"); %>", "ab"},
	{"backslash-newline inside a string becomes spaces", "<% write(\"a\\\r\nb\"); %>", "a   b"},
	{"variables are shared by the blocks of a page", `<% var a = "x"; %>-<% write(a); %>`, "-x"},

	// Statements.
	{"write joins its arguments with spaces", `<% write("a", "b", 1); %>`, "a b 1"},
	{"write of nothing writes nothing", `<% write(); %>`, ""},
	{"a newline separates statements", "<% write(1)\nwrite(2)\n%>", "12"},
	{"the last statement needs no semicolon", `<% write(1) %>`, "1"},
	{"empty statements", `<% ;; write(1);; %>`, "1"},
	{"braces group statements", `<% { write(1); { write(2) } } %>`, "12"},
	{"var with and without values", `<% var a = 1, b, c = a + 1; write(a, b, c); %>`, "1  2"},
	{"var again resets the variable, as in js.c", `<% var a = 1; var a; write(a); %>`, ""},
	{"assignment creates a variable", `<% x = "v"; write(x); %>`, "v"},
	{"assignment is an expression", `<% write(x = 3); write(x); %>`, "33"},
	{"assignments chain", `<% a = b = 2; write(a + b); %>`, "4"},
	{"++ and --", `<% i = 5; i++; write(i); i--; i--; write(i); %>`, "64"},
	{"++ yields the new value, as in js.c", `<% i = 1; write(i++); %>`, "2"},
	{"if takes its branch on 1", `<% if (1) write("t"); else write("f"); %>`, "t"},
	{"if takes else on 0", `<% if (0) write("t"); else write("f"); %>`, "f"},
	{"if without else", `<% if (0) write("t"); %>`, ""},
	{"else if chains", `<% x = 2; if (x == 1) write("one"); else if (x == 2) write("two"); else write("other"); %>`, "two"},
	{"if with braces", `<% if (1) { write("a"); write("b"); } %>`, "ab"},
	{"else on the next line", "<% if (0) {\n write(1);\n}\nelse {\n write(2);\n} %>", "2"},
	{"if wants a leading 1: 5 is false", `<% if (5) write("t"); else write("f"); %>`, "f"},
	{"if wants a leading 1: 10 is true", `<% if ("10") write("t"); %>`, "t"},
	{"if wants a leading 1: 1abc is true", `<% if ("1abc") write("t"); %>`, "t"},
	{"if (0) skips an undefined function", `<% if (0) nope(); write("ok"); %>`, "ok"},
	{"for", `<% for (i = 0; i < 3; i++) write(i); %>`, "012"},
	{"for with var", `<% for (var i = 3; i > 0; i--) { write(i); } %>`, "321"},
	{"for that never runs", `<% for (i = 5; i < 3; i++) write(i); %>`, ""},
	{"for runs while the condition does not start with 0", `<% for (i = 3; i; i--) write(i); %>`, "321"},
	{"for nested", `<% for (i = 0; i < 2; i++) for (j = 0; j < 2; j++) write("[" + i + j + "]"); %>`, "[00][01][10][11]"},
	{"for with an empty init and post", `<% i = 0; for (; i < 2;) { write(i); i++; } %>`, "01"},
	{"return ends the block, not the page", `<% write(1); return; write(2); %>x<% write(3); %>`, "1x3"},
	{"return inside a loop", `<% for (i = 0; i < 10; i++) { if (i == 2) return; write(i); } %>`, "01"},
	{"return with a value", `<% return 5; %>ok`, "ok"},
	{"comments", "<% // one\n write(1); /* two\n */ write(2); %>", "12"},
	{"null reads as empty", `<% write(null); x = null; write(x == ""); %>`, "1"},

	// Values: strings of digits are numbers.
	{`"1" + "2" is 3`, `<% write("1" + "2"); %>`, "3"},
	{`"a" + 1 concatenates`, `<% write("a" + 1, 1 + "a"); %>`, "a1 1a"},
	{`"" + "" is 0`, `<% write("" + ""); %>`, "0"},
	{`"" + 5 is 5`, `<% write("" + 5); %>`, "5"},
	{"a negative number", `<% write(-5, 7 - 10); %>`, "-5 -3"},
	{"a negative number is a string afterwards", `<% write(-5 + 1); %>`, "-51"},
	{"arithmetic", `<% write(7 - 2, 7 * 2, 7 / 2, 7 % 2, 1 << 4, 256 >> 4); %>`, "5 14 3 1 16 16"},
	{"division by zero is 0", `<% write(7 / 0, 7 % 0); %>`, "0 0"},
	{"leading zeros", `<% write("007", "007" + 1, "007" == 7); %>`, "007 8 1"},
	{"32-bit overflow wraps", `<% write(2147483647 + 1); %>`, "-2147483648"},
	{"a huge literal is kept, and saturates in arithmetic", `<% write(99999999999, 99999999999 + 0); %>`, "99999999999 2147483647"},
	{"empty equals zero", `<% write("" == 0, "" == "0"); %>`, "1 1"},

	// Precedence: none among binary operators, as js.c.
	{"no precedence: 1 + 2 * 3 is 9", `<% write(1 + 2 * 3); %>`, "9"},
	{"no precedence: 2 * 3 + 1 is 7", `<% write(2 * 3 + 1); %>`, "7"},
	{"parentheses group", `<% write(1 + (2 * 3)); %>`, "7"},
	{"left to right: 10 - 2 - 3", `<% write(10 - 2 - 3); %>`, "5"},
	{"left to right: 1 + 1 == 2", `<% write(1 + 1 == 2); %>`, "1"},
	{"left to right: 2 == 1 + 1 is (2 == 1) + 1", `<% write(2 == 1 + 1); %>`, "1"},
	{"left to right: 3 == 3 == 1", `<% write(3 == 3 == 1, 3 == 3 == 3); %>`, "1 0"},
	{"&& binds looser than ==", `<% write(1 == 1 && 2 == 2, 1 == 2 || 2 == 2); %>`, "1 1"},
	{"&& and || group from the right", `<% write(0 && 1 || 1); %>`, "0"},
	{"unary binds tightest", `<% write(!0 + 1, 1 + !0); %>`, "2 2"},

	// Comparisons.
	{"numbers compare as numbers", `<% write(10 < 9, "10" < "9", 9 <= 9, 9 >= 10, 3 > 2, 2 != 2); %>`, "0 0 1 0 1 0"},
	{"strings compare as bytes", `<% write("a" < "b", "abc" == "abc", "a" != "b", "b" > "a", "10" < "9a", "B" < "a"); %>`, "1 1 1 1 1 1"},

	// Logic.
	{"&& and ||", `<% write(1 && 1, 1 && 0, 0 || 1, 0 || 0, 5 && 7); %>`, "1 0 1 0 1"},
	{"&& and || of non-numbers are 0", `<% write("a" && 1, "" || 1, "2x" && "3"); %>`, "0 0 1"},
	{"&& and || evaluate both sides", `<% if (0 && (x = 1)) write("no"); write(x); %>`, "1"},
	{"!", `<% write(!0, !1, !7, !"", !!5); %>`, "1 0 0 1 1"},
	{"! in if", `<% x = 0; if (!x) write("zero"); %>`, "zero"},
	{"! of a comparison", `<% if (!("a" == "b")) write("differ"); %>`, "differ"},

	// Literals.
	{"string escapes", `<% write("a\tb\n", 'it\'s', "\x41\u00e9\101\\", "q\"q"); %>`, "a\tb\n it's AéA\\ q\"q"},
	{"single quotes hold double quotes", `<% write('say "hi"'); %>`, `say "hi"`},
	{"a newline inside a string", "<% write(\"a\nb\"); %>", "a\nb"},
	{"$ and _ in names", `<% $a_1 = "ok"; write($a_1); %>`, "ok"},
	{"a call may span lines after a comma", "<% write(1,\n 2); %>", "1 2"},
	{"an operator may end a line", "<% write(\"a\" +\n \"b\"); %>", "ab"},
}

func TestLanguage(t *testing.T) {
	for _, c := range langCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := renderString(t, c.src, Mode{}, Limits{}, nil)
			if err != nil {
				t.Fatalf("%s: %v", c.src, err)
			}
			if got != c.want {
				t.Fatalf("%s\n got %q\nwant %q", c.src, got, c.want)
			}
		})
	}
}

// errCases are pages that fail, the error's line and a part of its message.
var errCases = []struct {
	name, src string
	line      int
	msg       string
	out       string // what the page wrote before the error
}{
	{"an undefined function", "a\nb\n<% nope(1); %>", 3, "undefined function nope", "a\nb\n"},
	{"an undefined variable", "<% write(\n  zz); %>", 2, "undefined variable zz", ""},
	{"a declared variable cannot be incremented", "<% var u; u++; %>", 1, "undefined variable u", ""},
	{"++ of a string", `<% s = "a"; s++; %>`, 1, `operator ++ needs a number, not "a"`, ""},
	{"- of strings", `<% write("a" - 1); %>`, 1, `operator - needs numbers, not "a" and "1"`, ""},
	{"* of strings", `<% write("a" * "b"); %>`, 1, `operator * needs numbers`, ""},
	{"! of a string", `<% write(!"a"); %>`, 1, `operator ! needs a number, not "a"`, ""},
	{"unary - of a string", `<% write(-"a"); %>`, 1, `operator - needs a number`, ""},
	{"a negative number is a string to *", `<% write(-2 * 3); %>`, 1, `operator * needs numbers, not "-2" and "3"`, ""},
	{"two operands without an operator", `<% write(1 2); %>`, 1, "expected , or ) in the arguments of write", ""},
	{"statements before a syntax error run", "<% write(\"before\");\n write(1 +; %>", 2, "syntax error: unexpected \";\"", "before"},
	{"a missing )", `<% write(1; %>`, 1, "expected , or )", ""},
	{"a { without }", "<% {\n write(1); %>", 1, "{ without }", ""},
	{"a } without {", `<% } %>`, 1, "} without {", ""},
	{"else without if", `<% else write(1); %>`, 1, "else without if", ""},
	{"if at the end of a block", `<% if (1) %>`, 1, "statement expected at end of block", ""},
	{"a dot is not JavaScript here", `<% write(document.title); %>`, 1, "unexpected character '.'", ""},
	{"a single &", `<% write(1 & 2); %>`, 1, "single &", ""},
	{"an invalid escape", `<% write("\q"); %>`, 1, `invalid escape sequence \q`, ""},
	{"\\x without digits", `<% write("\xZZ"); %>`, 1, `invalid escape sequence \x without hex digits`, ""},
	{"an unmatched quote", `<% write("abc); %>`, 1, "unmatched quote", ""},
	{"%> inside a string ends the block, as in jst.c", `<% write("%>"); %>`, 1, "unmatched quote", ""},
	{"an unterminated comment", `<% /* write(1); %>`, 1, "unterminated /* comment", ""},
	{"a name with a non-ASCII letter", `<% é = 1; %>`, 1, "unexpected character 'é'", ""},
	{"a statement after an operand on the same line", `<% write(1) write(2); %>`, 1, "expected ; before", ""},
	{"an operator on the next line ends the expression, as in js.c", "<% write(\"a\"\n + \"b\"); %>", 2, "expected , or )", ""},
	{"prefix ++ is not js.c", `<% ++i; %>`, 1, "unexpected \"++\"", ""},
	{"nesting deeper than MaxDepth", "<% write(" + strings.Repeat("(", 150) + "1" + strings.Repeat(")", 150) + "); %>", 1, "nesting deeper than 100", ""},
	{"a chain of else if deeper than MaxDepth", "<% " + strings.Repeat("if (0) write(1); else ", 150) + "write(2); %>", 1, "nesting deeper than 100", ""},
	{"the first error stops the page", "a<% nope(); %>b<% write(1); %>", 1, "undefined function nope", "a"},
	{"an unterminated block", "ok\n<% write(1);", 2, "unterminated script block", ""},
}

func TestLanguageErrors(t *testing.T) {
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			got, err := renderString(t, c.src, Mode{}, Limits{}, nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: error %v (%T), want an *Error", c.src, err, err)
			}
			if e.File != "t.asp" || e.Line != c.line || !strings.Contains(e.Msg, c.msg) {
				t.Fatalf("%s: error %q, want t.asp:%d: …%s…", c.src, e, c.line, c.msg)
			}
			if !strings.HasPrefix(err.Error(), "t.asp:") {
				t.Fatalf("error %q does not start with file:line", err)
			}
			if got != c.out {
				t.Fatalf("%s: wrote %q before the error, want %q", c.src, got, c.out)
			}
		})
	}
}
