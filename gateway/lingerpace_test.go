package gateway

import (
	"testing"
	"time"
)

// TestLingerPace: a linger pays only at a pace that brings minGathered
// messages within it, judged over the window before; and lingers that do
// not gather them, at any pace, stop lingering for minPaceBackoff, twice
// as long each time they are found not to pay again, until a run of them
// pays. Time is the test's: no clock is read.
func TestLingerPace(t *testing.T) {
	const linger = 5 * time.Millisecond
	p := lingerPace{linger: linger}
	at := func(d time.Duration) int64 { return int64(time.Hour + d) }
	// paced counts n messages spread evenly over the window from its
	// start, and begins the next at its end.
	paced := func(start time.Duration, n int) {
		for i := range n {
			p.seen(at(start + time.Duration(i)*paceWindow/time.Duration(n)))
		}
		p.seen(at(start + paceWindow))
	}

	p.seen(at(-paceWindow)) // the first message: no pace yet
	if p.pays(at(-paceWindow + time.Millisecond)) {
		t.Error("a linger pays before any pace was counted")
	}
	// A linger of 5 ms gathers minGathered at 600 messages a second,
	// 60 a window.
	paced(0, 59)
	if p.pays(at(paceWindow)) {
		t.Errorf("a linger pays at %d messages a window; want %d at least", 59, minGathered*int(paceWindow/linger))
	}
	paced(paceWindow, 60)
	if !p.pays(at(2 * paceWindow)) {
		t.Errorf("a linger does not pay at %d messages a window", 60)
	}
	// A window that nobody ended for a second held a slow pace.
	paced(3*paceWindow, 0)
	p.seen(at(13 * paceWindow))
	if p.pays(at(13 * paceWindow)) {
		t.Error("a linger pays after a second that brought one message")
	}
	paced(13*paceWindow, 100)
	now := at(14 * paceWindow)
	if !p.pays(now) {
		t.Fatalf("a linger does not pay at %d messages a window", 100)
	}

	// Lingers that send one message each, at that pace, do not pay.
	lingers := func(n, each int) {
		for range n {
			p.lingered(each, now)
		}
	}
	lingers(paceRun-1, 1)
	if !p.pays(now) {
		t.Fatal("lingers stopped before a run of them was judged")
	}
	lingers(1, 1)
	for _, off := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		if p.pays(now + int64(off) - 1) {
			t.Errorf("a linger pays %v after a run of lingers that did not; want none for %v", off-1, off)
		}
		now += int64(off)
		if !p.pays(now) {
			t.Errorf("lingers still stopped %v after a run that did not pay", off)
		}
		lingers(paceRun, minGathered-1) // and again they do not
	}
	// Backing off is bounded.
	for range 10 {
		now += int64(maxPaceBackoff)
		lingers(paceRun, 0)
	}
	if p.pays(now + int64(maxPaceBackoff) - 1) {
		t.Errorf("lingers stopped for more than %v", maxPaceBackoff)
	}
	if !p.pays(now + int64(maxPaceBackoff)) {
		t.Errorf("lingers still stopped after %v", maxPaceBackoff)
	}

	// A run that pays starts the back-off over.
	now += int64(maxPaceBackoff)
	lingers(paceRun-1, minGathered)
	lingers(1, minGathered+1)
	if !p.pays(now) {
		t.Fatal("lingers stopped after a run that paid")
	}
	lingers(paceRun, 1)
	if p.pays(now+int64(time.Second)-1) || !p.pays(now+int64(time.Second)) {
		t.Errorf("after a run that paid, lingers that did not are stopped for other than %v", minPaceBackoff)
	}
}

// TestLingerPaceSender: a sender with a linger sends at once, lingering
// for nobody, at a slow pace (a test's, a few devices'), lingers once the
// pace brings others within the linger, and has a message join a linger
// under way even where a new one would not pay. With a linger of a
// second, whose timer the test stops before it fires.
func TestLingerPaceSender(t *testing.T) {
	snd := &sender{linger: maxSendLinger, epoch: time.Now()}
	snd.pace.linger = snd.linger
	defer func() {
		snd.lingerMu.Lock()
		if snd.timer != nil {
			snd.timer.Stop()
		}
		snd.lingerMu.Unlock()
	}()
	sec := int64(time.Second)
	snd.pace.seen(sec)
	snd.pace.seen(2 * sec) // one message a second
	var l, other lane
	if snd.hold(&l, 2*sec) {
		t.Error("a message lingers at one message a second")
	}
	for range 10 {
		snd.pace.seen(2*sec + 1)
	}
	snd.pace.seen(2*sec + int64(paceWindow))
	if !snd.hold(&l, 2*sec+int64(paceWindow)) {
		t.Error("a message does not linger at 10 messages in 100 ms")
	}
	snd.pace.offUntil = 1 << 62 // lingers do not pay: the one under way is joined
	if !snd.hold(&other, 2*sec+int64(paceWindow)) {
		t.Error("a message does not join a linger under way")
	}
}
