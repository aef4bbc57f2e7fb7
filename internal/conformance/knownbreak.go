package conformance

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// runKnownBreak runs a case the target is known to fail with a test that
// records its failures instead of failing, and fails t if the case
// passed: the target's list of known breaks must stay true.
func runKnownBreak(t *testing.T, tg Target, tc testCase, index int, kb KnownBreak) {
	t.Helper()
	rec := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		// A failed case ends its goroutine with runtime.Goexit, as
		// FailNow does; the deferred close still runs.
		defer close(done)
		tc.run(newC(rec, tg, tc, index))
	}()
	<-done
	failures := rec.failures()
	if len(failures) == 0 {
		t.Errorf("the case passed, but the target lists it as a known break of %s (%s): take it off Target.KnownBreaks", kb.Statement, kb.Instead)
		return
	}
	t.Logf("fails as known: it breaks %s: %s. The case reported:\n\t%s", kb.Statement, kb.Instead, strings.Join(failures, "\n\t"))
}

// recorder is a case's test that keeps its failures instead of failing:
// Error and Fatal record and Fatal ends the case's goroutine, as the
// testing package does; everything else is the real test's.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	failed []string
}

func (r *recorder) record(msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = append(r.failed, msg)
}

func (r *recorder) failures() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.failed...)
}

func (r *recorder) Fail()                          { r.record("failed") }
func (r *recorder) Failed() bool                   { return len(r.failures()) > 0 }
func (r *recorder) Error(args ...any)              { r.record(fmt.Sprint(args...)) }
func (r *recorder) Errorf(format string, a ...any) { r.record(fmt.Sprintf(format, a...)) }
func (r *recorder) FailNow()                       { r.Fail(); runtime.Goexit() }
func (r *recorder) Fatal(args ...any)              { r.Error(args...); runtime.Goexit() }
func (r *recorder) Fatalf(format string, a ...any) { r.Errorf(format, a...); runtime.Goexit() }
