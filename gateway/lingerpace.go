package gateway

import (
	"sync/atomic"
	"time"
)

// lingerPace tells the sender whether a linger pays: whether, in the
// time a message lingers, others are likely to come to share its write.
// A linger that gathers nobody costs more than it saves — the timer that
// ends it is a wake-up of its own, on top of the write and the read it
// was to share — so that a linger too short for the pace (1 ms at a
// thousand messages a second, the README's fleet benchmark) costs more
// CPU a message than none. Two things say that it does not pay:
//
//   - the pace: fewer messages came in the last paceWindow than would
//     bring minGathered in one linger (a gateway with a few devices, a
//     test);
//   - the lingers themselves: those of the last paceRun gathered fewer
//     than minGathered each, on average, though the pace was enough, as
//     when one device publishes fast but each publish waits for the
//     acknowledgement of the one before, and so is always alone. Lingers
//     then stop for a while, twice as long each time they are tried and
//     found not to pay, up to maxPaceBackoff.
//
// When it does not pay, a message goes at once, as with no linger.
type lingerPace struct {
	linger time.Duration

	// The messages counted in the window begun at windowStart (on the
	// sender's clock), and the rate of the window before it, in
	// thousandths of a message a paceWindow (a slow pace is not rounded
	// down to none).
	windowStart atomic.Int64
	inWindow    atomic.Int64
	lastRate    atomic.Int64

	// Under the sender's lingerMu: the lingers of the run under way and
	// the messages they sent, until when (on the sender's clock) lingers
	// are off, and for how long the next time.
	lingers, gathered int
	offUntil          int64
	backoff           time.Duration
}

const (
	// paceWindow is the window the pace is counted over.
	paceWindow = 100 * time.Millisecond
	// minGathered is how many messages a linger must send, on average,
	// to pay: at the fleet benchmark's pace a linger of 2 ms (two
	// messages) cost more CPU a message than none, one of 5 ms (five)
	// far less.
	minGathered = 3
	// paceRun is how many lingers are judged together: enough that the
	// chance in how many messages a linger finds averages out.
	paceRun = 16
	// minPaceBackoff and maxPaceBackoff bound how long lingers stop for
	// when they do not pay.
	minPaceBackoff = time.Second
	maxPaceBackoff = 30 * time.Second
	// maxPaceCount bounds the messages a window counts.
	maxPaceCount = 1 << 20
)

// seen counts a message queued at now (the sender's clock).
func (p *lingerPace) seen(now int64) {
	start := p.windowStart.Load()
	if elapsed := now - start; elapsed >= int64(paceWindow) && p.windowStart.CompareAndSwap(start, now) {
		// The rate over the window just ended, however long it was: a
		// window longer than paceWindow (nobody came to end it) is a
		// slower pace, not more messages. Past maxPaceCount a window, ten
		// million messages a second, a linger pays anyway; the bound
		// keeps the products in int64s.
		n := min(p.inWindow.Swap(0), maxPaceCount)
		p.lastRate.Store(n * 1000 * int64(paceWindow) / elapsed)
	}
	p.inWindow.Add(1)
}

// pays reports whether a message that finds its lane idle at now is to
// linger; the caller holds the sender's lingerMu.
func (p *lingerPace) pays(now int64) bool {
	if now < p.offUntil {
		return false
	}
	// In a linger, lastRate × linger / paceWindow thousandths of a
	// message come. (lastRate is at most 1000 × maxPaceCount, and the
	// product stays within an int64 with the longest linger, a second.)
	return p.lastRate.Load()*int64(p.linger) >= minGathered*1000*int64(paceWindow)
}

// lingered counts a linger ended at now that sent n messages, and stops
// lingers for a while if those of its run did not pay; the caller holds
// the sender's lingerMu.
func (p *lingerPace) lingered(n int, now int64) {
	p.lingers++
	p.gathered += n
	if p.lingers < paceRun {
		return
	}
	if p.gathered < minGathered*p.lingers {
		p.backoff = min(max(2*p.backoff, minPaceBackoff), maxPaceBackoff)
		p.offUntil = now + int64(p.backoff)
	} else {
		p.backoff = 0
	}
	p.lingers, p.gathered = 0, 0
}
