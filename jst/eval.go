package jst

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Errors a render fails with when a limit is reached; the *Error that
// carries one says where. Test with errors.Is.
var (
	// ErrOutputTooLarge: the page's output would exceed Limits.MaxOutput.
	ErrOutputTooLarge = errors.New("jst: output exceeds Limits.MaxOutput")
	// ErrSteps: the render used up Limits.MaxSteps (a loop that does not end).
	ErrSteps = errors.New("jst: step budget Limits.MaxSteps used up")
	// ErrValueTooLarge: a string value would exceed Limits.MaxValue.
	ErrValueTooLarge = errors.New("jst: value exceeds Limits.MaxValue")
)

// bytesPerStep is how many bytes of a string built or written cost one
// step, so that a loop building big strings runs out of steps in bounded
// time and memory, not only a loop that spins.
const bytesPerStep = 64

// ctxEvery is how many steps pass between two looks at the request's
// context.
const ctxEvery = 1024

// value is what every expression yields: a string, as in js.c.
type value struct {
	s string
	// untrusted lists, in order, the byte ranges of s that come from Go
	// (a bound function's result) or from the request (a form variable);
	// under escape=html write() escapes those and only those, so that
	// "<td>" + f() + "</td>" keeps its markup and escapes f's value.
	untrusted []span
}

// span is the byte range [lo, hi) of a value.
type span struct{ lo, hi int }

// untrustedValue returns s as a value that is untrusted as a whole.
func untrustedValue(s string) value {
	if s == "" {
		return value{}
	}
	return value{s: s, untrusted: []span{{0, len(s)}}}
}

// concat returns a + b with their untrusted ranges.
func concat(a, b value) value {
	v := value{s: a.s + b.s}
	if len(a.untrusted)+len(b.untrusted) == 0 {
		return v
	}
	sp := make([]span, 0, len(a.untrusted)+len(b.untrusted))
	sp = append(sp, a.untrusted...)
	for _, x := range b.untrusted {
		x.lo += len(a.s)
		x.hi += len(a.s)
		if n := len(sp); n > 0 && sp[n-1].hi == x.lo {
			sp[n-1].hi = x.hi
			continue
		}
		sp = append(sp, x)
	}
	v.untrusted = sp
	return v
}

// spanBytes is what one untrusted range costs, in bytes, when a step
// charge counts a value's size.
const spanBytes = 16

// variable is a page variable; declared by "var x" without a value, it is
// not defined (reads as "", cannot be incremented), as in js.c.
type variable struct {
	v       value
	defined bool
}

// run is one render of a page. It is owned by the request's goroutine.
type run struct {
	e        *Engine
	pg       *page
	req      *http.Request
	ctx      context.Context
	escape   bool
	out      *output
	vars     map[string]*variable
	steps    int
	maxSteps int
	maxValue int
	off      int // offset of the last node with one: where a limit is reported
}

// output is the render's bounded buffer.
type output struct {
	buf *bytes.Buffer
	max int
	err error // sticky ErrOutputTooLarge
}

func (o *output) write(s string) error {
	if o.err != nil {
		return o.err
	}
	if o.buf.Len()+len(s) > o.max {
		o.err = ErrOutputTooLarge
		return o.err
	}
	o.buf.WriteString(s)
	return nil
}

// writeEscaped writes s HTML-escaped: & < > " ' become &amp; &lt; &gt;
// &#34; &#39;, as html.EscapeString does.
func (o *output) writeEscaped(s string) error {
	for len(s) > 0 {
		i := strings.IndexAny(s, `&<>"'`)
		if i < 0 {
			return o.write(s)
		}
		if err := o.write(s[:i]); err != nil {
			return err
		}
		if err := o.write(entity(s[i])); err != nil {
			return err
		}
		s = s[i+1:]
	}
	return nil
}

func entity(c byte) string {
	switch c {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	case '"':
		return "&#34;"
	}
	return "&#39;"
}

// escapeHTML returns s HTML-escaped like output.writeEscaped.
func escapeHTML(s string) string {
	if !strings.ContainsAny(s, `&<>"'`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if strings.IndexByte(`&<>"'`, s[i]) >= 0 {
			b.WriteString(entity(s[i]))
		} else {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// fail makes the run-time Error at offset off.
func (r *run) fail(off int, err error, format string, args ...any) *Error {
	e := r.pg.errorAt(off, fmt.Sprintf(format, args...))
	e.Err = err
	return e
}

// step charges n steps to the budget and looks at the request's context
// now and then.
func (r *run) step(n int) error {
	before := r.steps
	r.steps += n
	if r.steps > r.maxSteps {
		return r.fail(r.off, ErrSteps, "step budget of %d used up (a loop that does not end?)", r.maxSteps)
	}
	if before/ctxEvery != r.steps/ctxEvery {
		if err := r.ctx.Err(); err != nil {
			return r.fail(r.off, err, "request ended: %v", err)
		}
	}
	return nil
}

// block runs one block's statements; a return ends the block.
func (r *run) block(b *block) error {
	for _, s := range b.list {
		ret, err := r.exec(s)
		if err != nil || ret {
			return err
		}
	}
	if b.err != nil {
		return b.err
	}
	return nil
}

// exec runs one statement; ret reports a return statement.
func (r *run) exec(s stmt) (ret bool, err error) {
	if err := r.step(1); err != nil {
		return false, err
	}
	switch s := s.(type) {
	case *exprStmt:
		_, err := r.eval(s.x)
		return false, err
	case *blockStmt:
		for _, t := range s.list {
			if ret, err := r.exec(t); err != nil || ret {
				return ret, err
			}
		}
		return false, nil
	case *ifStmt:
		c, err := r.eval(s.cond)
		if err != nil {
			return false, err
		}
		// js.c takes the branch when the condition's value starts with 1.
		if strings.HasPrefix(c.s, "1") {
			return r.exec(s.then)
		}
		if s.els != nil {
			return r.exec(s.els)
		}
		return false, nil
	case *forStmt:
		return r.loop(s)
	case *varStmt:
		for i, name := range s.names {
			if s.xs[i] == nil {
				r.vars[name] = &variable{}
				continue
			}
			v, err := r.eval(s.xs[i])
			if err != nil {
				return false, err
			}
			r.vars[name] = &variable{v: v, defined: true}
		}
		return false, nil
	case *returnStmt:
		if s.x != nil {
			if _, err := r.eval(s.x); err != nil {
				return false, err
			}
		}
		return true, nil
	}
	panic(fmt.Sprintf("jst: unknown statement %T", s))
}

func (r *run) loop(s *forStmt) (bool, error) {
	if s.init != nil {
		if _, err := r.exec(s.init); err != nil {
			return false, err
		}
	}
	for {
		r.off = s.off
		if err := r.step(1); err != nil {
			return false, err
		}
		if s.cond != nil {
			c, err := r.eval(s.cond)
			if err != nil {
				return false, err
			}
			// js.c runs the loop while the condition does not start
			// with 0 (unlike if, which wants a leading 1).
			if strings.HasPrefix(c.s, "0") {
				return false, nil
			}
		}
		if ret, err := r.exec(s.body); err != nil || ret {
			return ret, err
		}
		if s.post != nil {
			if _, err := r.eval(s.post); err != nil {
				return false, err
			}
		}
	}
}

// eval evaluates an expression.
func (r *run) eval(x expr) (value, error) {
	if err := r.step(1); err != nil {
		return value{}, err
	}
	switch x := x.(type) {
	case *lit:
		return value{s: x.v}, nil
	case *ref:
		r.off = x.off
		v, ok := r.vars[x.name]
		if !ok {
			return value{}, r.fail(x.off, nil, "undefined variable %s", x.name)
		}
		return v.v, nil
	case *assign:
		v, err := r.eval(x.x)
		if err != nil {
			return value{}, err
		}
		r.vars[x.name] = &variable{v: v, defined: true}
		return v, nil
	case *incDec:
		r.off = x.off
		v, ok := r.vars[x.name]
		if !ok || !v.defined {
			return value{}, r.fail(x.off, nil, "undefined variable %s", x.name)
		}
		if !numeric(v.v.s) {
			return value{}, r.fail(x.off, nil, "operator %s needs a number, not %s", x.op, quote(v.v.s))
		}
		d := int32(1)
		if x.op == opDec {
			d = -1
		}
		v.v = value{s: itoa(atoi(v.v.s) + d)}
		return v.v, nil
	case *call:
		return r.call(x)
	case *unary:
		v, err := r.eval(x.x)
		if err != nil {
			return value{}, err
		}
		r.off = x.off
		// js.c applies ! and a leading - to an empty left operand:
		// "" - 5 is -5, "" ! 0 is 1; both want a number.
		if !numeric(v.s) {
			return value{}, r.fail(x.off, nil, "operator %s needs a number, not %s", x.op, quote(v.s))
		}
		if x.op == opNot {
			return value{s: boolStr(atoi(v.s) == 0)}, nil
		}
		return value{s: itoa(-atoi(v.s))}, nil
	case *chain:
		acc, err := r.eval(x.xs[0])
		if err != nil {
			return value{}, err
		}
		for i, o := range x.ops {
			rhs, err := r.eval(x.xs[i+1])
			if err != nil {
				return value{}, err
			}
			r.off = x.offs[i]
			if acc, err = r.binary(o, acc, rhs); err != nil {
				return value{}, err
			}
		}
		return acc, nil
	case *logic:
		vs := make([]string, len(x.xs))
		for i, y := range x.xs {
			v, err := r.eval(y)
			if err != nil {
				return value{}, err
			}
			vs[i] = v.s
		}
		acc := vs[len(vs)-1]
		for i := len(x.ops) - 1; i >= 0; i-- {
			acc = logical(x.ops[i], vs[i], acc)
		}
		return value{s: acc}, nil
	}
	panic(fmt.Sprintf("jst: unknown expression %T", x))
}

// binary applies an arithmetic or comparison operator with js.c's rules:
// when both values are all digits (the empty string too) they are 32-bit
// integers; otherwise + concatenates, the comparisons compare bytes, and
// any other operator is an error.
func (r *run) binary(o op, l, rv value) (value, error) {
	if numeric(l.s) && numeric(rv.s) {
		a, b := atoi(l.s), atoi(rv.s)
		var n int32
		switch o {
		case opAdd:
			n = a + b
		case opSub:
			n = a - b
		case opMul:
			n = a * b
		case opDiv:
			if b != 0 {
				n = a / b
			}
		case opMod:
			if b != 0 {
				n = a % b
			}
		case opShl:
			n = a << (uint32(b) & 31)
		case opShr:
			n = a >> (uint32(b) & 31)
		default:
			return value{s: boolStr(compare(o, int(a)-int(b)))}, nil
		}
		return value{s: itoa(n)}, nil
	}
	switch o {
	case opAdd:
		n := len(l.s) + len(rv.s)
		if n > r.maxValue {
			return value{}, r.fail(r.off, ErrValueTooLarge, "string of %d bytes exceeds the limit of %d", n, r.maxValue)
		}
		if err := r.step((n + spanBytes*(len(l.untrusted)+len(rv.untrusted))) / bytesPerStep); err != nil {
			return value{}, err
		}
		return concat(l, rv), nil
	case opLT, opLE, opGT, opGE, opEQ, opNE:
		return value{s: boolStr(compare(o, strings.Compare(l.s, rv.s)))}, nil
	}
	return value{}, r.fail(r.off, nil, "operator %s needs numbers, not %s and %s", o, quote(l.s), quote(rv.s))
}

// compare turns a comparison's sign (c < 0, 0, > 0) into its truth.
func compare(o op, c int) bool {
	switch o {
	case opLT:
		return c < 0
	case opLE:
		return c <= 0
	case opGT:
		return c > 0
	case opGE:
		return c >= 0
	case opEQ:
		return c == 0
	}
	return c != 0 // opNE
}

// logical is js.c's && and ||: both values must start with a digit, read
// as integers by their leading digits; otherwise the result is 0.
func logical(o op, l, r string) string {
	if l == "" || r == "" || !isDigit(l[0]) || !isDigit(r[0]) {
		return "0"
	}
	a, b := atoi(l) != 0, atoi(r) != 0
	if o == opAnd {
		return boolStr(a && b)
	}
	return boolStr(a || b)
}

// numeric reports whether s is all decimal digits; "" is (it reads as 0).
func numeric(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// atoi reads the leading digits of s as a C int: 0 if none, at most
// math.MaxInt32 (what atoi does on a 32-bit device).
func atoi(s string) int32 {
	var n int64
	for i := 0; i < len(s) && isDigit(s[i]); i++ {
		n = n*10 + int64(s[i]-'0')
		if n > math.MaxInt32 {
			return math.MaxInt32
		}
	}
	return int32(n)
}

func itoa(n int32) string { return strconv.FormatInt(int64(n), 10) }

func boolStr(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// call runs a bound function or a built-in one.
func (r *run) call(c *call) (value, error) {
	args := make([]value, len(c.args))
	for i, a := range c.args {
		v, err := r.eval(a)
		if err != nil {
			return value{}, err
		}
		args[i] = v
	}
	r.off = c.off
	if fn := r.e.lookup(c.name); fn != nil {
		return r.callGo(c, fn, args)
	}
	switch c.name {
	case "write":
		return value{}, r.write(c, args, false, r.escape)
	case "writeEscaped":
		return value{}, r.write(c, args, true, false)
	case "escape":
		var b strings.Builder
		for i, a := range args {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(a.s)
		}
		s := escapeHTML(b.String())
		if len(s) > r.maxValue {
			return value{}, r.fail(c.off, ErrValueTooLarge, "escape: string of %d bytes exceeds the limit of %d", len(s), r.maxValue)
		}
		return value{s: s}, r.step(len(s) / bytesPerStep)
	}
	return value{}, r.fail(c.off, nil, "undefined function %s", c.name)
}

// write is the write() built-in: its arguments separated by spaces, as
// jst.c's websJstWrite does. all HTML-escapes every value (writeEscaped);
// untrusted escapes the untrusted ranges of each (write under
// escape=html).
func (r *run) write(c *call, args []value, all, untrusted bool) error {
	for i, a := range args {
		if err := r.step(1 + len(a.s)/bytesPerStep); err != nil {
			return err
		}
		if i > 0 {
			r.out.write(" ")
		}
		switch {
		case all:
			r.out.writeEscaped(a.s)
		case untrusted:
			pos := 0
			for _, sp := range a.untrusted {
				r.out.write(a.s[pos:sp.lo])
				r.out.writeEscaped(a.s[sp.lo:sp.hi])
				pos = sp.hi
			}
			r.out.write(a.s[pos:])
		default:
			r.out.write(a.s)
		}
	}
	if r.out.err != nil {
		return r.fail(c.off, r.out.err, "%s: output exceeds the limit of %d bytes", c.name, r.out.max)
	}
	return nil
}

func (r *run) callGo(c *call, fn Func, args []value) (value, error) {
	cl := &Call{Request: r.req, Name: c.name, Args: make([]string, len(args)), run: r}
	for i, a := range args {
		cl.Args[i] = a.s
	}
	err := fn(cl)
	cl.run = nil
	if r.out.err != nil {
		return value{}, r.fail(c.off, r.out.err, "%s: output exceeds the limit of %d bytes", c.name, r.out.max)
	}
	if err != nil {
		return value{}, r.fail(c.off, err, "%s: %v", c.name, err)
	}
	if len(cl.result) > r.maxValue {
		return value{}, r.fail(c.off, ErrValueTooLarge, "%s: result of %d bytes exceeds the limit of %d", c.name, len(cl.result), r.maxValue)
	}
	return untrustedValue(cl.result), nil
}
