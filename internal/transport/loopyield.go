package transport

import (
	"runtime"
	"sync/atomic"
	"time"

	"github.com/lesismal/nbio"
)

// An nbio event loop is a goroutine that never waits in Go: it waits in
// epoll_wait, a system call, and runs the callbacks of what it reads,
// without passing through the scheduler. Go's runtime monitor (sysmon)
// takes a processor whose goroutine has not been rescheduled for 10 ms as
// running too long, and takes it from the thread when it finds that thread
// in a system call, which is where an event loop mostly is. Each time, the
// monitor starts again to wake every 20 µs for a millisecond or more, and
// the loop's thread, back from epoll_wait, has to find a processor again.
// On a gateway of many quiet devices that cost more CPU than reading,
// mapping, sending and acknowledging their messages: in the README's fleet
// benchmark, 1,000 devices at one message a second each, the gateway went
// from 1.90 to 1.31 times mochi's CPU a message when the loops yielded.
//
// So a loop passes through the scheduler (runtime.Gosched) when it
// handles a read and has not for yieldEvery: its processor's scheduling
// count moves, and the monitor leaves it alone. A loop that reads nothing
// for longer waits in epoll_wait, where being taken costs nothing more
// than one wake-up.
//
// A pass is not free either: Gosched queues the loop's goroutine where
// any processor may take it and wakes an idle thread to do so, which
// finds it or nothing and sleeps again, two or three context switches.
// Hence half of the monitor's 10 ms, not less: a loop that reads at least
// every 5 ms keeps its processor with room to spare, and one reading
// more often does not pay for it more often. In the fleet benchmark with
// the devices' messages spread evenly (a read every millisecond or so),
// passing at most every millisecond cost 3.3 context switches and 7.5
// system calls a message; every 5 ms, 2.6 and 6.5, and 14% less CPU.
const yieldEvery = 5 * time.Millisecond

// loopYield keeps the event loops of one nbio engine passing through the
// scheduler, each at most once every yieldEvery.
type loopYield struct {
	start time.Time
	due   []atomic.Int64 // per event loop: when it yields next, since start
	now   func() time.Duration
	yield func()
}

// newLoopYield serves an engine of n event loops.
func newLoopYield(n int) *loopYield {
	y := &loopYield{start: time.Now(), due: make([]atomic.Int64, max(n, 1)), yield: runtime.Gosched}
	y.now = func() time.Duration { return time.Since(y.start) }
	return y
}

// pass is called by the event loop serving c as it handles a read of c's:
// nbio gives a connection to loop Hash() % n, so each slot of due is
// touched by one loop (were it another, a loop would only yield more or
// less often than it should).
func (y *loopYield) pass(c *nbio.Conn) {
	y.passLoop(c.Hash())
}

func (y *loopYield) passLoop(hash int) {
	slot := &y.due[uint(hash)%uint(len(y.due))]
	now := int64(y.now())
	if due := slot.Load(); now >= due && slot.CompareAndSwap(due, now+int64(yieldEvery)) {
		y.yield()
	}
}
