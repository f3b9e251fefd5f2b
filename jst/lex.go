package jst

import (
	"strings"
	"unicode/utf8"
)

// kind is the kind of a token.
type kind uint8

const (
	kEOF   kind = iota
	kIdent      // a name: write, getCfgGeneral, i
	kNum        // decimal digits
	kStr        // a quoted string, escapes resolved
	kOp         // punctuation and operators: ( ) { } ; , + ++ == && …
	kErr        // a lexical error; text is the message
)

// tok is one token of a script block.
type tok struct {
	kind kind
	text string // name, digits, string value, operator spelling or error message
	off  int    // byte offset of the token in the page
	nl   bool   // a newline stands between the previous token and this one
}

// lexer splits one script block into tokens on demand. It is a small value:
// the parser peeks by copying it.
type lexer struct {
	src  string // the block, backslash-newlines already blanked
	pos  int    // next byte of src
	base int    // offset of src[0] in the page
}

// next returns the next token. Like js.c's lexer it knows no keywords: the
// parser decides where "if" is a keyword.
func (l *lexer) next() tok {
	nl := false
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == '\n':
			nl = true
			l.pos++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			l.pos++
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '/':
			// js.c: a // comment runs to the end of the line.
			end := strings.IndexByte(l.src[l.pos:], '\n')
			if end < 0 {
				l.pos = len(l.src)
			} else {
				l.pos += end
			}
		case c == '/' && l.pos+1 < len(l.src) && l.src[l.pos+1] == '*':
			end := strings.Index(l.src[l.pos+2:], "*/")
			if end < 0 {
				return l.errAt(l.pos, "unterminated /* comment")
			}
			if strings.IndexByte(l.src[l.pos:l.pos+2+end], '\n') >= 0 {
				nl = true
			}
			l.pos += 2 + end + 2
		default:
			t := l.token()
			t.nl = nl
			return t
		}
	}
	return tok{kind: kEOF, off: l.base + len(l.src), nl: nl}
}

func (l *lexer) errAt(pos int, msg string) tok {
	l.pos = len(l.src)
	return tok{kind: kErr, text: msg, off: l.base + pos}
}

// ops lists the operators of two bytes; a one-byte operator is any of
// opChars.
var ops2 = [...]string{"++", "--", "<=", "<<", ">=", ">>", "==", "!=", "&&", "||"}

const opChars = "(){};,+-*/%<>=!"

func (l *lexer) token() tok {
	start := l.pos
	c := l.src[start]
	switch {
	case c == '"' || c == '\'':
		return l.str(c)
	case isDigit(c):
		for l.pos < len(l.src) && isDigit(l.src[l.pos]) {
			l.pos++
		}
		return tok{kind: kNum, text: l.src[start:l.pos], off: l.base + start}
	case isIdentStart(c) || c == '\\':
		return l.ident()
	}
	if l.pos+1 < len(l.src) {
		two := l.src[l.pos : l.pos+2]
		for _, op := range ops2 {
			if two == op {
				l.pos += 2
				return tok{kind: kOp, text: op, off: l.base + start}
			}
		}
	}
	if strings.IndexByte(opChars, c) >= 0 {
		l.pos++
		return tok{kind: kOp, text: l.src[start:l.pos], off: l.base + start}
	}
	if c == '&' || c == '|' {
		return l.errAt(start, "single "+string(c)+": the operators are && and ||")
	}
	r, _ := utf8.DecodeRuneInString(l.src[start:])
	return l.errAt(start, "unexpected character "+quoteRune(r))
}

// ident scans a name. js.c ignores a backslash inside a name; so does this.
func (l *lexer) ident() tok {
	start := l.pos
	var b []byte
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		if c == '\\' {
			if b == nil {
				b = append(b, l.src[start:l.pos]...)
			}
			l.pos++
			continue
		}
		if !isIdentStart(c) && !isDigit(c) {
			break
		}
		if b != nil {
			b = append(b, c)
		}
		l.pos++
	}
	name := l.src[start:l.pos]
	if b != nil {
		name = string(b)
	}
	if name == "" || !isIdentStart(name[0]) {
		return l.errAt(start, "invalid identifier "+quote(l.src[start:l.pos]))
	}
	return tok{kind: kIdent, text: name, off: l.base + start}
}

// str scans a string literal with js.c's escapes: \n \b \f \r \t \' \" \\,
// \xHH, \uHHHH (encoded as UTF-8) and up to three octal digits.
func (l *lexer) str(q byte) tok {
	start := l.pos
	l.pos++
	var b strings.Builder
	for {
		i := l.pos
		for i < len(l.src) && l.src[i] != q && l.src[i] != '\\' {
			i++
		}
		b.WriteString(l.src[l.pos:i])
		l.pos = i
		if l.pos >= len(l.src) {
			return l.errAt(start, "unmatched quote")
		}
		if l.src[l.pos] == q {
			l.pos++
			return tok{kind: kStr, text: b.String(), off: l.base + start}
		}
		// A backslash.
		l.pos++
		if l.pos >= len(l.src) {
			return l.errAt(start, "unmatched quote")
		}
		c := l.src[l.pos]
		l.pos++
		switch c {
		case 'n':
			b.WriteByte('\n')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case '\'', '"', '\\':
			b.WriteByte(c)
		case 'x', 'u':
			n := 2
			if c == 'u' {
				n = 4
			}
			v, k := 0, 0
			for ; k < n && l.pos < len(l.src); k++ {
				d := hexVal(l.src[l.pos])
				if d < 0 {
					break
				}
				v = v*16 + d
				l.pos++
			}
			if k == 0 {
				return l.errAt(l.pos-2, "invalid escape sequence \\"+string(c)+" without hex digits")
			}
			if c == 'x' {
				b.WriteByte(byte(v))
			} else {
				b.WriteRune(rune(v))
			}
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 1; k < 3 && l.pos < len(l.src) && l.src[l.pos] >= '0' && l.src[l.pos] <= '7'; k++ {
				v = v*8 + int(l.src[l.pos]-'0')
				l.pos++
			}
			b.WriteByte(byte(v))
		default:
			r, _ := utf8.DecodeRuneInString(l.src[l.pos-1:])
			return l.errAt(l.pos-2, "invalid escape sequence \\"+string(r))
		}
	}
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == '$'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
