package transport

import (
	"testing"
	"time"
)

// TestLoopYieldOncePerInterval checks that an event loop handling reads
// passes through the scheduler at its first read and then at most once
// every yieldEvery, whatever the other loops do, on a clock the test
// moves.
func TestLoopYieldOncePerInterval(t *testing.T) {
	var now time.Duration
	yields := 0
	y := newLoopYield(2)
	y.now = func() time.Duration { return now }
	y.yield = func() { yields++ }

	steps := []struct {
		at    time.Duration
		loop  int // the connection's hash; loop hash % 2
		wants int // yields so far
	}{
		{0, 4, 1},                            // loop 0's first read
		{yieldEvery / 2, 6, 1},               // loop 0, too soon
		{yieldEvery / 2, 5, 2},               // loop 1's first read
		{yieldEvery - 1, 0, 2},               // loop 0, still too soon
		{yieldEvery, 2, 3},                   // loop 0, due
		{yieldEvery + yieldEvery/4, 1, 3},    // loop 1, too soon
		{yieldEvery + yieldEvery/2, 3, 4},    // loop 1, due
		{10 * yieldEvery, 8, 5},              // loop 0 after a quiet spell: once
		{10*yieldEvery + yieldEvery/2, 8, 5}, // and not again before its interval
	}
	for i, s := range steps {
		now = s.at
		y.passLoop(s.loop)
		if yields != s.wants {
			t.Fatalf("step %d (loop hash %d at %v): %d yields, want %d", i, s.loop, s.at, yields, s.wants)
		}
	}
}

// TestLoopYieldOneLoop checks an engine of one loop, and that a loop
// count of 0 is taken for one rather than dividing by zero.
func TestLoopYieldOneLoop(t *testing.T) {
	for _, n := range []int{0, 1} {
		var now time.Duration
		yields := 0
		y := newLoopYield(n)
		y.now = func() time.Duration { return now }
		y.yield = func() { yields++ }
		for i := range 100 {
			now = time.Duration(i) * yieldEvery / 10 // ten reads an interval
			y.passLoop(i)
		}
		if yields != 10 {
			t.Errorf("newLoopYield(%d): %d yields over 10 intervals, want 10", n, yields)
		}
	}
}
