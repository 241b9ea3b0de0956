package poll

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
)

func TestUntil(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		calls := 0
		Until(t, "the third call", func() (bool, error) { calls++; return calls == 3, nil })
		if calls != 3 {
			t.Fatalf("got %d calls, want 3", calls)
		}
	})
	t.Run("Error", func(t *testing.T) {
		rec := &recorder{TB: t}
		done := make(chan struct{})
		go func() { // Fatalf ends the goroutine it runs in
			defer close(done)
			Until(rec, "never", func() (bool, error) { return false, errors.New("boom") })
		}()
		<-done
		if rec.msg != "waiting until never: boom" {
			t.Fatalf("got %q, want the condition's error", rec.msg)
		}
	})
}

// recorder records Fatalf's message instead of failing the test.
type recorder struct {
	testing.TB
	msg string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}
