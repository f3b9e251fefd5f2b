package jst

import (
	"strconv"
	"strings"
)

// page is a parsed page: text and script blocks in file order.
type page struct {
	name string
	src  string // the whole file; text segments and error lines refer to it
	segs []seg
}

// seg is a run of text or one <% … %> block.
type seg struct {
	text string // when blk is nil
	blk  *block
	off  int // offset of the segment in the page
}

// block is one parsed <% … %> block. A block with a syntax error keeps the
// statements before the error, which run before the error is reported, as
// js.c runs a block while it parses it.
type block struct {
	list []stmt
	err  *Error
	src  string // the script, for GoAhead's inline error text
}

// Syntax tree. Every node that can fail at run time keeps the byte offset
// of its token in the page, for the error's line.
type (
	stmt interface{}
	expr interface{}

	exprStmt  struct{ x expr }
	blockStmt struct{ list []stmt }
	ifStmt    struct {
		cond      expr
		then, els stmt // els may be nil
	}
	forStmt struct {
		init       stmt // nil, *exprStmt or *varStmt
		cond, post expr // may be nil
		body       stmt
		off        int
	}
	varStmt struct {
		names []string
		xs    []expr // nil where a name has no initializer
	}
	returnStmt struct{ x expr } // x may be nil

	lit struct{ v string }
	ref struct {
		name string
		off  int
	}
	assign struct {
		name string
		x    expr
	}
	incDec struct {
		name string
		op   op // opInc or opDec
		off  int
	}
	call struct {
		name string
		args []expr
		off  int
	}
	unary struct {
		op  op // opNot or opSub
		x   expr
		off int
	}
	// chain is x0 op1 x1 op2 x2 …, evaluated left to right with no
	// precedence among the operators, as js.c does.
	chain struct {
		xs   []expr
		ops  []op
		offs []int
	}
	// logic is x0 op1 x1 op2 x2 … with && and ||, grouped from the right
	// (x0 && (x1 || x2)), every operand evaluated, as js.c does.
	logic struct {
		xs  []expr
		ops []op
	}
)

// op is a binary or unary operator.
type op uint8

const (
	opAdd op = iota + 1
	opSub
	opMul
	opDiv
	opMod
	opShl
	opShr
	opLT
	opLE
	opGT
	opGE
	opEQ
	opNE
	opNot
	opInc
	opDec
	opAnd
	opOr
)

var binops = map[string]op{
	"+": opAdd, "-": opSub, "*": opMul, "/": opDiv, "%": opMod,
	"<<": opShl, ">>": opShr, "<": opLT, "<=": opLE, ">": opGT, ">=": opGE,
	"==": opEQ, "!=": opNE,
}

var opNames = [...]string{opAdd: "+", opSub: "-", opMul: "*", opDiv: "/", opMod: "%",
	opShl: "<<", opShr: ">>", opLT: "<", opLE: "<=", opGT: ">", opGE: ">=",
	opEQ: "==", opNE: "!=", opNot: "!", opInc: "++", opDec: "--", opAnd: "&&", opOr: "||"}

func (o op) String() string { return opNames[o] }

// parsePage splits src into text and blocks and parses every block. Only an
// unterminated block fails the whole page; a block's syntax error is kept
// in the block.
func parsePage(name, src string, maxDepth int) (*page, error) {
	p := &page{name: name, src: src}
	pos := 0
	for {
		i := strings.Index(src[pos:], "<%")
		if i < 0 {
			break
		}
		open := pos + i
		if open > pos {
			p.segs = append(p.segs, seg{text: src[pos:open], off: pos})
		}
		start := skipSpace(src, open+2)
		start = skipLanguage(src, start)
		end := strings.Index(src[start:], "%>")
		if end < 0 {
			return nil, p.errorAt(open, "unterminated script block: <% without %>")
		}
		end += start
		pos = end + 2
		script := joinLines(src[start:end])
		trim := strings.TrimLeft(script, " \t\r\n\f\v")
		if strings.TrimSpace(trim) == "" {
			continue // js.c skips an empty block
		}
		base := start + len(script) - len(trim)
		p.segs = append(p.segs, seg{blk: p.parseBlock(trim, base, maxDepth), off: open})
	}
	if pos < len(src) {
		p.segs = append(p.segs, seg{text: src[pos:], off: pos})
	}
	return p, nil
}

func skipSpace(s string, i int) int {
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return i
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'
}

// skipLanguage skips jst.c's optional "language=javascript" (any case,
// spaces before the "="), returning i unchanged if it is not there.
func skipLanguage(s string, i int) int {
	const kw, val = "language", "=javascript"
	if len(s)-i < len(kw) || !strings.EqualFold(s[i:i+len(kw)], kw) {
		return i
	}
	j := skipSpace(s, i+len(kw))
	if len(s)-j < len(val) || !strings.EqualFold(s[j:j+len(val)], val) {
		return i
	}
	return j + len(val)
}

// joinLines blanks a backslash followed by newlines, and those newlines,
// as jst.c does; the length, and so every offset, is unchanged.
func joinLines(s string) string {
	if !strings.Contains(s, "\\\n") && !strings.Contains(s, "\\\r") {
		return s
	}
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		if b[i] == '\\' && i+1 < len(b) && (b[i+1] == '\n' || b[i+1] == '\r') {
			b[i] = ' '
			for i+1 < len(b) && (b[i+1] == '\n' || b[i+1] == '\r') {
				i++
				b[i] = ' '
			}
		}
	}
	return string(b)
}

// parser parses one block. Errors unwind by panic with a *Error, caught in
// parseBlock; any other panic is a bug and is not caught.
type parser struct {
	pg       *page
	lx       lexer
	tok      tok
	depth    int
	maxDepth int
}

func (p *page) parseBlock(script string, base, maxDepth int) (b *block) {
	b = &block{src: script}
	ps := &parser{pg: p, lx: lexer{src: script, base: base}, maxDepth: maxDepth}
	defer func() {
		if r := recover(); r != nil {
			e, ok := r.(*Error)
			if !ok {
				panic(r)
			}
			b.err = e
		}
	}()
	ps.advance()
	for ps.tok.kind != kEOF {
		s := ps.stmt()
		if s != nil {
			b.list = append(b.list, s)
		}
	}
	return b
}

func (ps *parser) advance() {
	ps.tok = ps.lx.next()
	if ps.tok.kind == kErr {
		ps.fail(ps.tok.off, ps.tok.text)
	}
}

// peek returns the token after the current one without consuming it.
func (ps *parser) peek() tok {
	l := ps.lx
	return l.next()
}

func (ps *parser) fail(off int, msg string) {
	panic(ps.pg.errorAt(off, msg))
}

func (ps *parser) is(text string) bool { return ps.tok.kind == kOp && ps.tok.text == text }

func (ps *parser) expect(text string) {
	if !ps.is(text) {
		ps.fail(ps.tok.off, "syntax error: expected "+text+", found "+ps.tok.describe())
	}
	ps.advance()
}

func (ps *parser) enter() {
	ps.depth++
	if ps.depth > ps.maxDepth {
		ps.fail(ps.tok.off, "nesting deeper than "+strconv.Itoa(ps.maxDepth))
	}
}

func (ps *parser) leave() { ps.depth-- }

// end ends a statement: a ";" (consumed), a newline, a "}" or the end of
// the block. js.c wants the ";" or the newline; the other two are
// accepted too.
func (ps *parser) end() {
	switch {
	case ps.is(";"):
		ps.advance()
	case ps.tok.nl, ps.tok.kind == kEOF, ps.is("}"):
	default:
		ps.fail(ps.tok.off, "syntax error: expected ; before "+ps.tok.describe())
	}
}

func (ps *parser) stmt() stmt {
	ps.enter()
	defer ps.leave()
	t := ps.tok
	if t.kind == kOp {
		switch t.text {
		case ";":
			ps.advance()
			return nil
		case "{":
			ps.advance()
			var list []stmt
			for !ps.is("}") {
				if ps.tok.kind == kEOF {
					ps.fail(t.off, "syntax error: { without }")
				}
				if s := ps.stmt(); s != nil {
					list = append(list, s)
				}
			}
			ps.advance()
			return &blockStmt{list: list}
		case "}":
			ps.fail(t.off, "syntax error: } without {")
		}
	}
	if t.kind == kIdent {
		switch t.text {
		case "if":
			ps.advance()
			ps.expect("(")
			cond := ps.expr()
			ps.expect(")")
			s := &ifStmt{cond: cond, then: ps.body()}
			if ps.tok.kind == kIdent && ps.tok.text == "else" {
				ps.advance()
				s.els = ps.body()
			}
			return s
		case "else":
			ps.fail(t.off, "syntax error: else without if")
		case "for":
			ps.advance()
			ps.expect("(")
			s := &forStmt{off: t.off}
			if ps.tok.kind == kIdent && ps.tok.text == "var" {
				ps.advance()
				s.init = ps.decls()
			} else if !ps.is(";") {
				s.init = &exprStmt{x: ps.expr()}
			}
			ps.expect(";")
			if !ps.is(";") {
				s.cond = ps.expr()
			}
			ps.expect(";")
			if !ps.is(")") {
				s.post = ps.expr()
			}
			ps.expect(")")
			s.body = ps.body()
			return s
		case "var":
			ps.advance()
			s := ps.decls()
			ps.end()
			return s
		case "return":
			ps.advance()
			s := &returnStmt{}
			if !ps.is(";") && !ps.is("}") && ps.tok.kind != kEOF && !ps.tok.nl {
				s.x = ps.expr()
			}
			ps.end()
			return s
		}
	}
	x := ps.expr()
	ps.end()
	return &exprStmt{x: x}
}

// body is the statement of an if, else or for; a lone ";" is an empty one.
func (ps *parser) body() stmt {
	if ps.tok.kind == kEOF {
		ps.fail(ps.tok.off, "syntax error: statement expected at end of block")
	}
	if s := ps.stmt(); s != nil {
		return s
	}
	return &blockStmt{}
}

func (ps *parser) decls() *varStmt {
	s := &varStmt{}
	for {
		if ps.tok.kind != kIdent {
			ps.fail(ps.tok.off, "syntax error: variable name expected, found "+ps.tok.describe())
		}
		s.names = append(s.names, ps.tok.text)
		ps.advance()
		var x expr
		if ps.is("=") {
			ps.advance()
			x = ps.expr()
		}
		s.xs = append(s.xs, x)
		if !ps.is(",") {
			return s
		}
		ps.advance()
	}
}

// expr parses a whole expression: operands joined by && and ||.
func (ps *parser) expr() expr {
	ps.enter()
	defer ps.leave()
	x := ps.chain()
	if !ps.is("&&") && !ps.is("||") || ps.tok.nl {
		return x
	}
	l := &logic{xs: []expr{x}}
	for (ps.is("&&") || ps.is("||")) && !ps.tok.nl {
		o := opAnd
		if ps.tok.text == "||" {
			o = opOr
		}
		ps.advance()
		l.ops = append(l.ops, o)
		l.xs = append(l.xs, ps.chain())
	}
	return l
}

// chain parses operands joined by arithmetic and comparison operators. As
// in js.c, an operator must be on the line of its left operand.
func (ps *parser) chain() expr {
	x := ps.unary()
	if _, ok := binops[ps.tok.text]; ps.tok.kind != kOp || !ok || ps.tok.nl {
		return x
	}
	c := &chain{xs: []expr{x}}
	for ps.tok.kind == kOp && !ps.tok.nl {
		o, ok := binops[ps.tok.text]
		if !ok {
			break
		}
		c.ops = append(c.ops, o)
		c.offs = append(c.offs, ps.tok.off)
		ps.advance()
		c.xs = append(c.xs, ps.unary())
	}
	return c
}

func (ps *parser) unary() expr {
	t := ps.tok
	if ps.is("!") || ps.is("-") {
		ps.enter()
		defer ps.leave()
		ps.advance()
		o := opNot
		if t.text == "-" {
			o = opSub
		}
		return &unary{op: o, x: ps.unary(), off: t.off}
	}
	return ps.primary()
}

func (ps *parser) primary() expr {
	t := ps.tok
	switch t.kind {
	case kNum, kStr:
		ps.advance()
		return &lit{v: t.text}
	case kIdent:
		next := ps.peek()
		switch {
		case next.kind == kOp && next.text == "(":
			ps.advance()
			ps.advance()
			return ps.call(t)
		case next.kind == kOp && next.text == "=":
			ps.enter()
			defer ps.leave()
			ps.advance()
			ps.advance()
			return &assign{name: t.text, x: ps.expr()}
		case next.kind == kOp && (next.text == "++" || next.text == "--") && !next.nl:
			ps.advance()
			ps.advance()
			o := opInc
			if next.text == "--" {
				o = opDec
			}
			return &incDec{name: t.text, op: o, off: t.off}
		}
		ps.advance()
		return &ref{name: t.text, off: t.off}
	case kOp:
		if t.text == "(" {
			ps.enter()
			defer ps.leave()
			ps.advance()
			x := ps.expr()
			ps.expect(")")
			return x
		}
	}
	ps.fail(t.off, "syntax error: unexpected "+t.describe())
	return nil
}

func (ps *parser) call(name tok) expr {
	ps.enter()
	defer ps.leave()
	c := &call{name: name.text, off: name.off}
	if ps.is(")") {
		ps.advance()
		return c
	}
	for {
		c.args = append(c.args, ps.expr())
		if ps.is(")") {
			ps.advance()
			return c
		}
		if !ps.is(",") {
			ps.fail(ps.tok.off, "syntax error: expected , or ) in the arguments of "+name.text+", found "+ps.tok.describe())
		}
		ps.advance()
	}
}

// describe names a token for an error message.
func (t tok) describe() string {
	switch t.kind {
	case kEOF:
		return "end of block"
	case kIdent:
		return quote(t.text)
	case kNum:
		return "number " + quote(t.text)
	case kStr:
		return "string " + quote(t.text)
	}
	return quote(t.text)
}
