package broker

import (
	"testing"
	"time"
)

// TestTicksAhead: a deadline goes in the slot of the first tick at or
// after it, and one further off than the wheel reaches in its furthest
// slot, to be looked at and put back.
func TestTicksAhead(t *testing.T) {
	const tick = deadlineTick
	for _, tc := range []struct {
		in, untilNext time.Duration
		want          int
	}{
		{0, tick, 0},                      // due now: the next tick
		{tick / 2, tick, 0},               // before the next tick
		{tick, tick, 0},                   // at the next tick
		{tick + 1, tick, 1},               // just after it: the one after
		{3 * tick, tick / 2, 3},           // 2.5 ticks after the next: the third after it
		{10 * time.Second, tick, 99},      // 100 ticks from now
		{90 * time.Second, tick, 255},     // past the wheel's reach: its furthest slot
		{-time.Second, tick, 0},           // overdue
		{deadlineSlots * tick, tick, 255}, // at its reach
	} {
		if got := ticksAhead(tc.in, tc.untilNext); got != tc.want {
			t.Errorf("ticksAhead(%v, %v) = %d; want %d", tc.in, tc.untilNext, got, tc.want)
		}
	}
}

// TestDeadlinesSupersede: a connection watched again is checked at its
// latest deadline only; the wheel stopped takes nothing more.
func TestDeadlinesSupersede(t *testing.T) {
	var w deadlines
	c := &Client{}
	w.watch(c, 10*time.Second)
	w.watch(c, 20*time.Second)
	live := 0
	w.mu.Lock()
	for _, slot := range w.slots {
		for _, e := range slot {
			if e.seq == e.c.deadlineSeq {
				live++
			}
		}
	}
	w.mu.Unlock()
	if live != 1 {
		t.Errorf("%d entries count after two watches; want 1", live)
	}
	w.close()
	w.watch(c, time.Second)
	for _, slot := range w.slots {
		if len(slot) != 0 {
			t.Fatal("a stopped wheel took a connection")
		}
	}
}
