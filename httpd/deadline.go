package httpd

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// handlerCtx is a handler's context: its parent's, with the handler
// deadline. It behaves as context.WithDeadline(parent, deadline) does, but
// makes that context (a timer, and a child registered with the parent) only
// when something needs it: a call to Done, or Err or Value once the deadline
// has passed or the handler has returned. Most handlers (files, small
// actions) never call Done, and their requests then cost no timer.
type handlerCtx struct {
	parent   context.Context
	deadline time.Time // zero: none (the context then only carries state)
	state    any       // StatePolicies' state, for StateFrom

	ended atomic.Bool                     // the handler returned: Canceled from now on
	inner atomic.Pointer[context.Context] // the WithDeadline context, once made

	mu     sync.Mutex // guards cancel and the making of inner
	cancel context.CancelFunc
}

func (c *handlerCtx) init(parent context.Context, deadline time.Time) {
	c.parent, c.deadline = parent, deadline
}

// made returns the WithDeadline context, making it if need be.
func (c *handlerCtx) made() context.Context {
	if p := c.inner.Load(); p != nil {
		return *p
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.inner.Load(); p != nil {
		return *p
	}
	var ctx context.Context
	var cancel context.CancelFunc
	if c.deadline.IsZero() {
		ctx, cancel = context.WithCancel(c.parent)
	} else {
		ctx, cancel = context.WithDeadline(c.parent, c.deadline)
	}
	c.cancel = cancel
	if c.ended.Load() {
		cancel()
	}
	c.inner.Store(&ctx)
	return ctx
}

// settled reports whether Err and Value must consult the WithDeadline
// context: it exists, or the deadline passed, or the handler returned.
// The deadline is compared on the monotonic clock alone (time.Until, when
// the deadline has a monotonic reading, as one made from time.Now does),
// which is half the cost of time.Now.
func (c *handlerCtx) settled() bool {
	return c.inner.Load() != nil || c.ended.Load() || !c.deadline.IsZero() && time.Until(c.deadline) <= 0
}

// end cancels the context, as the CancelFunc of WithDeadline does.
func (c *handlerCtx) end() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ended.Store(true)
	if c.cancel != nil {
		c.cancel()
	}
}

// Deadline returns the handler deadline, or the parent's if earlier.
func (c *handlerCtx) Deadline() (time.Time, bool) {
	if d, ok := c.parent.Deadline(); ok && (c.deadline.IsZero() || d.Before(c.deadline)) {
		return d, true
	}
	return c.deadline, !c.deadline.IsZero()
}

// Done returns a channel closed at the deadline, when the parent is done or
// when the handler returns.
func (c *handlerCtx) Done() <-chan struct{} { return c.made().Done() }

// Err returns nil while the context is live, then why it ended.
func (c *handlerCtx) Err() error {
	if c.settled() {
		return c.made().Err()
	}
	return c.parent.Err()
}

// Value returns the parent's value for key; once the context has ended,
// the WithDeadline context's, so that context.Cause sees the deadline.
func (c *handlerCtx) Value(key any) any {
	if _, ok := key.(stateKey); ok && c.state != nil {
		return c.state
	}
	if c.settled() {
		return c.made().Value(key)
	}
	return c.parent.Value(key)
}

func (c *handlerCtx) String() string { return "httpd.handlerCtx" }
