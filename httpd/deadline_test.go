package httpd

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"
)

type ctxKey struct{}

// TestHandlerCtxActsLikeWithDeadline checks handlerCtx against
// context.WithDeadline on the same timeline, whichever of its methods is
// called first.
func TestHandlerCtxActsLikeWithDeadline(t *testing.T) {
	steps := []struct {
		name string
		run  func(t *testing.T, c *handlerCtx, cancelParent context.CancelFunc)
		err  error
	}{
		{"before the deadline it is live", func(t *testing.T, c *handlerCtx, _ context.CancelFunc) {}, nil},
		{"at the deadline it is DeadlineExceeded", func(t *testing.T, c *handlerCtx, _ context.CancelFunc) {
			time.Sleep(time.Second)
			synctest.Wait() // the deadline's timer has run
		}, context.DeadlineExceeded},
		{"after the handler returns it is Canceled", func(t *testing.T, c *handlerCtx, _ context.CancelFunc) {
			c.end()
		}, context.Canceled},
		{"a canceled parent cancels it", func(t *testing.T, c *handlerCtx, cancel context.CancelFunc) {
			cancel()
		}, context.Canceled},
	}
	for _, first := range []string{"Done", "Err", "Value", "Cause"} {
		for _, st := range steps {
			t.Run(first+" first: "+st.name, func(t *testing.T) {
				synctest.Test(t, func(t *testing.T) {
					parent, cancel := context.WithCancel(context.WithValue(context.Background(), ctxKey{}, "v"))
					defer cancel()
					c := &handlerCtx{}
					c.init(parent, time.Now().Add(time.Second))
					if first == "Done" {
						c.Done()
					}
					st.run(t, c, cancel)
					switch first {
					case "Err":
						if err := c.Err(); !errors.Is(err, st.err) || (st.err == nil) != (err == nil) {
							t.Fatalf("Err = %v, want %v", err, st.err)
						}
					case "Value":
						if v := c.Value(ctxKey{}); v != "v" {
							t.Fatalf("Value = %v, want the parent's", v)
						}
					case "Cause":
						if err := context.Cause(c); !errors.Is(err, st.err) || (st.err == nil) != (err == nil) {
							t.Fatalf("Cause = %v, want %v", err, st.err)
						}
					}
					if err := c.Err(); !errors.Is(err, st.err) || (st.err == nil) != (err == nil) {
						t.Fatalf("Err = %v, want %v", err, st.err)
					}
					select {
					case <-c.Done():
						if st.err == nil {
							t.Fatal("Done is closed while live")
						}
					default:
						if st.err != nil {
							t.Fatal("Done is open after the end")
						}
					}
					if err := context.Cause(c); !errors.Is(err, st.err) || (st.err == nil) != (err == nil) {
						t.Fatalf("Cause = %v, want %v", err, st.err)
					}
					if d, ok := c.Deadline(); !ok || !d.Equal(c.deadline) {
						t.Fatalf("Deadline = %v %v", d, ok)
					}
					c.end()
				})
			})
		}
	}
	t.Run("Done closes at the deadline while waited on", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := &handlerCtx{}
			start := time.Now()
			c.init(context.Background(), start.Add(time.Second))
			<-c.Done()
			if d := time.Since(start); d != time.Second {
				t.Errorf("Done closed after %v, want 1s", d)
			}
			if !errors.Is(context.Cause(c), context.DeadlineExceeded) {
				t.Errorf("Cause = %v", context.Cause(c))
			}
			c.end()
		})
	})
	t.Run("a derived context ends with it", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := &handlerCtx{}
			c.init(context.Background(), time.Now().Add(time.Hour))
			d, cancel := context.WithCancel(c)
			defer cancel()
			c.end()
			<-d.Done()
			if !errors.Is(d.Err(), context.Canceled) {
				t.Errorf("derived Err = %v", d.Err())
			}
		})
	})
}
